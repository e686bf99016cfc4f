"""Haven: an offline voice companion for the moment someone is upset about a person they love.

The pipeline, in the order the audio flows (pipeline.run wires it):

    source → endpointer → echo → transcriber → responder → voice → sink, held by session

Around it: settings (every default), events (what --json, the terminal and the journal
receive), breathing/ (one scheduler), distress, commands/ (one module per command), cli.
"""

import os as _os

# Nothing leaves the machine. Set before any dependency is imported, whoever imports
# this package, and inherited by the voice worker: onnxruntime (the VAD) otherwise
# sends usage telemetry from native code, where no Python socket guard sees it (strace
# saw DNS queries for Microsoft's event host), and writes a device id under ~/.cache;
# huggingface_hub must never try the network.
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
_os.environ["HF_HUB_OFFLINE"] = "1"
_os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"

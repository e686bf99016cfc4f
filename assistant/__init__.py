"""Haven: an offline voice companion for the moment someone is upset about a person they love."""

__version__ = "0.1.0"

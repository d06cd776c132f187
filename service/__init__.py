"""CareerKG: an open knowledge graph of the AI and ML job landscape, served as SPARQL and REST."""

from service.app import create_app

__all__ = ["create_app"]
__version__ = "0.1.0"

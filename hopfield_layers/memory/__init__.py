"""Standalone associative-memory models."""

from .retrieval import MODELS as MODELS
from .retrieval import HopfieldRetrieval as HopfieldRetrieval
from .retrieval import MLPRetrieval as MLPRetrieval
from .retrieval import RetrievalModel as RetrievalModel
from .retrieval import build_model as build_model

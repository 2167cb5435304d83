"""Equilibrium signals, plain-language diagnoses and metric writers."""

from gangan.monitor.diagnosis import Diagnoser, Diagnosis
from gangan.monitor.signals import diversity, diversity_within_classes
from gangan.monitor.writers import JsonlWriter, TensorBoardWriter

__all__ = ["Diagnoser", "Diagnosis", "JsonlWriter", "TensorBoardWriter", "diversity", "diversity_within_classes"]

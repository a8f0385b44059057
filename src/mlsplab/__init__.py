"""mlsplab: every experiment of an MLSP course assignment, reproduced for real on a CPU."""

__version__ = "0.1.0"

"""Arithmetic building blocks shared by every tpegen unit: bit matrices, compressors,
reduction trees, final adders and partial-product generators."""

from .adders import FINAL_ADDERS, final_add
from .bitmatrix import BitMatrix
from .multipliers import MULTIPLIERS, add_product, booth4_digit_count
from .reduce import COMPRESSORS, TREES, reduce_matrix

__all__ = ["BitMatrix", "reduce_matrix", "final_add", "add_product", "booth4_digit_count",
           "TREES", "COMPRESSORS", "FINAL_ADDERS", "MULTIPLIERS"]

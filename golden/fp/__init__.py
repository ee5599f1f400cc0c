"""Bit-exact floating-point golden models: codec (decode/encode with one rounding) and FMA."""

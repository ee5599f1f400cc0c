"""tpegen: parameterized RTL generators for tensor processing engines, verified bit-exact
against golden models and costed with open tools."""

__version__ = "0.1.0"

from .gemm import run_gemm  # noqa: E402 -- C = A @ B on a generated engine, in simulation

__all__ = ["run_gemm"]

"""tpegen: parameterized RTL generators for tensor processing engines, verified bit-exact
against golden models and costed with open tools."""

__version__ = "0.1.0"

"""Golden models of the mixed-precision processing elements (hdl/pe/, same names and
parameters), written from the specs in docs/pe.md."""

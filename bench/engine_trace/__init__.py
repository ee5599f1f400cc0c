"""Engine throughput bench parts (bench/sim_throughput.py): the planted-fault patch, the
stimulus, the block checker (TraceModel, fed the observed inputs) and the trace mode's
Verilator C++ harness (harness.cpp)."""

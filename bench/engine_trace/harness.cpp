// Bulk trace harness for the tensor engines (bench/sim_throughput.py, trace mode).
//
// Runs a pre-generated stimulus at full speed, with no Python per cycle: the beats of the
// two operand streams and, per cycle, the pre-drawn bubbles (a driver with a beat to send
// offers it only when its offer bit is set), the backpressure (m_axis_c_tready) and rst.
// The drivers obey AXI4-Stream: once tvalid is high it stays high, with the same beat,
// until the beat is taken (tvalid && tready at a rising edge).
//
// For every cycle t it writes one record to stdout: the inputs the design saw at rising
// edge t (read back from the model's ports, not from the stimulus arrays) and the outputs
// it showed before that edge (both treadys, tvalid/tlast/tdata of c, dbg_state), which is
// the pairing of testbenches/common/engine_board.py. Record layout (little endian):
//   byte 0: a_valid | a_last<<1 | b_valid<<2 | b_last<<3 | c_ready<<4 | rst<<5
//   byte 1: a_ready | b_ready<<1 | c_valid<<2 | c_last<<3
//   A_BYTES a_data, B_BYTES b_data, C_BYTES c_data, S_BYTES dbg_state
//
// Stimulus file: uint64 n_cycles, n_a, n_b; n_a x (A_BYTES data, 1 byte last); n_b x
// (B_BYTES, 1); n_cycles bytes: offer_a | offer_b<<1 | c_ready<<2 | rst<<3.
// Built by Verilator with --prefix Vtop and -DA_BYTES=.. -DB_BYTES=.. -DC_BYTES=..
// -DS_BYTES=..; plusargs (e.g. +BENCH_FAULT=n of the planted-fault run) reach the design.
#include "Vtop.h"
#include "verilated.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

template <typename T> static inline void put(T& sig, const uint8_t* src, size_t n) {
    if constexpr (std::is_integral_v<T>) {
        T v = 0;
        std::memcpy(&v, src, n);
        sig = v;
    } else {
        std::memcpy(sig.data(), src, n);
    }
}

template <typename T> static inline void get(const T& sig, uint8_t* dst, size_t n) {
    if constexpr (std::is_integral_v<T>) {
        std::memcpy(dst, &sig, n);
    } else {
        std::memcpy(dst, sig.data(), n);
    }
}

int main(int argc, char** argv) {
    const std::unique_ptr<VerilatedContext> ctx{new VerilatedContext};
    ctx->commandArgs(argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s stimulus.bin [+plusargs]\n", argv[0]);
        return 2;
    }
    FILE* f = std::fopen(argv[1], "rb");
    if (!f) { std::perror(argv[1]); return 2; }
    uint64_t hdr[3];
    if (std::fread(hdr, 8, 3, f) != 3) { std::fprintf(stderr, "bad stimulus\n"); return 2; }
    const uint64_t n = hdr[0], na = hdr[1], nb = hdr[2];
    const size_t SA = A_BYTES + 1, SB = B_BYTES + 1;
    std::vector<uint8_t> abeats(na * SA), bbeats(nb * SB), cyc(n);
    if (std::fread(abeats.data(), 1, abeats.size(), f) != abeats.size() ||
        std::fread(bbeats.data(), 1, bbeats.size(), f) != bbeats.size() ||
        std::fread(cyc.data(), 1, cyc.size(), f) != cyc.size()) {
        std::fprintf(stderr, "short stimulus\n");
        return 2;
    }
    std::fclose(f);

    const std::unique_ptr<Vtop> top{new Vtop{ctx.get()}};
    const size_t REC = 2 + A_BYTES + B_BYTES + C_BYTES + S_BYTES;
    const size_t CHUNK = 1024;
    std::vector<uint8_t> buf(REC * CHUNK);
    size_t fill = 0;
    uint64_t ia = 0, ib = 0;
    bool a_hold = false, b_hold = false;
    top->clk = 0;
    top->s_axis_a_tvalid = 0;
    top->s_axis_b_tvalid = 0;
    top->eval();
    for (uint64_t t = 0; t < n; ++t) {
        const uint8_t fl = cyc[t];
        const bool rst = (fl >> 3) & 1;
        if (!a_hold) {
            if ((fl & 1) && ia < na && !rst) {
                put(top->s_axis_a_tdata, &abeats[ia * SA], A_BYTES);
                top->s_axis_a_tlast = abeats[ia * SA + A_BYTES];
                top->s_axis_a_tvalid = 1;
                a_hold = true;
            } else {
                top->s_axis_a_tvalid = 0;
            }
        }
        if (!b_hold) {
            if ((fl & 2) && ib < nb && !rst) {
                put(top->s_axis_b_tdata, &bbeats[ib * SB], B_BYTES);
                top->s_axis_b_tlast = bbeats[ib * SB + B_BYTES];
                top->s_axis_b_tvalid = 1;
                b_hold = true;
            } else {
                top->s_axis_b_tvalid = 0;
            }
        }
        top->m_axis_c_tready = (fl >> 2) & 1;
        top->rst = rst;
        top->clk = 0;
        top->eval();
        uint8_t* r = &buf[fill * REC];
        r[0] = (top->s_axis_a_tvalid & 1) | ((top->s_axis_a_tlast & 1) << 1) |
               ((top->s_axis_b_tvalid & 1) << 2) | ((top->s_axis_b_tlast & 1) << 3) |
               ((top->m_axis_c_tready & 1) << 4) | ((top->rst & 1) << 5);
        r[1] = (top->s_axis_a_tready & 1) | ((top->s_axis_b_tready & 1) << 1) |
               ((top->m_axis_c_tvalid & 1) << 2) | ((top->m_axis_c_tlast & 1) << 3);
        get(top->s_axis_a_tdata, r + 2, A_BYTES);
        get(top->s_axis_b_tdata, r + 2 + A_BYTES, B_BYTES);
        get(top->m_axis_c_tdata, r + 2 + A_BYTES + B_BYTES, C_BYTES);
        get(top->dbg_state, r + 2 + A_BYTES + B_BYTES + C_BYTES, S_BYTES);
        const bool a_fire = top->s_axis_a_tvalid && top->s_axis_a_tready && !rst;
        const bool b_fire = top->s_axis_b_tvalid && top->s_axis_b_tready && !rst;
        top->clk = 1;
        top->eval();
        if (a_fire) { a_hold = false; ++ia; }
        if (b_fire) { b_hold = false; ++ib; }
        if (++fill == CHUNK) {
            if (std::fwrite(buf.data(), REC, fill, stdout) != fill) return 3;
            fill = 0;
        }
    }
    if (fill && std::fwrite(buf.data(), REC, fill, stdout) != fill) return 3;
    std::fflush(stdout);
    top->final();
    return 0;
}

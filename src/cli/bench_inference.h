// src/cli/bench_inference.h — `simkyc bench` rows for the inference backends (issue 6): each
// embedder's descriptor time, each detector at 640x480, end-to-end verify per backend pair, and
// a floating-point peak probe with the GFLOP/s each network achieves.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/result.h"

namespace simkyc::cli {

struct TimedRow {
  std::string stage, size;
  std::vector<double> ms;   // one entry per timed run
};

// Requires: live is the bench's live photo (8UC3); n >= 1.  Models that are not installed are
// skipped (their row is absent), so the bench runs on a tree without converted models.
Result<std::vector<TimedRow>> inference_bench_rows(const std::filesystem::path& model_dir, const cv::Mat& live,
                                                   std::span<const std::uint8_t> id_bytes,
                                                   std::span<const std::uint8_t> live_bytes, int n);

// FMA peak of this machine, GFLOP/s, with `threads` threads each running independent fused
// multiply-add chains for about `seconds` (AVX2+FMA when the CPU has it, else scalar code).
double measure_fma_peak_gflops(int threads, double seconds = 0.3);

}  // namespace simkyc::cli

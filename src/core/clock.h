// src/core/clock.h — monotonic stopwatch for per-stage timings.
#pragma once
#include <chrono>

namespace simkyc {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  // Ensures: milliseconds since construction or the last restart(), >= 0.
  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  }
  void restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace simkyc

// src/cli/progress.h — a progress bar on stderr for long batch work.  On a terminal it redraws
// one line; otherwise (CI logs) it prints a line every 10%.
#pragma once
#include <cstddef>
#include <mutex>
#include <string>

#include "core/clock.h"

namespace simkyc::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  // Thread-safe.  Requires: done <= total.
  void update(std::size_t done, std::size_t total);

 private:
  std::string label_;
  bool tty_;
  int last_decile_ = -1;
  Stopwatch sw_;
  std::mutex mu_;
};

}  // namespace simkyc::cli

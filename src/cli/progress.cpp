#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace simkyc::cli {

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), tty_(isatty(STDERR_FILENO) != 0) {}

void ProgressBar::update(std::size_t done, std::size_t total) {
  std::lock_guard lock(mu_);
  if (total == 0) return;
  const double f = static_cast<double>(done) / static_cast<double>(total);
  const double el = sw_.elapsed_ms() / 1000.0;
  const double eta = f > 0 ? el * (1 - f) / f : 0;
  if (tty_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(f * kWidth);
    std::fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu %3.0f%% %.0fs left ", label_.c_str(), filled,
                 "##############################", kWidth - filled, "", done, total, f * 100, eta);
    if (done == total) std::fprintf(stderr, "\n");
  } else {
    const int decile = static_cast<int>(f * 10);
    if (decile != last_decile_) {
      last_decile_ = decile;
      std::fprintf(stderr, "%s %zu/%zu (%.0f%%, %.0fs)\n", label_.c_str(), done, total, f * 100, el);
    }
  }
}

}  // namespace simkyc::cli

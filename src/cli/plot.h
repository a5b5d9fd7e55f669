// src/cli/plot.h — simple line plots (ROC, DET) written as SVG or PNG, chosen by file extension.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace simkyc::cli {

struct Series {
  std::string label;
  std::vector<std::pair<double, double>> points;   // (x, y)
};

struct PlotSpec {
  std::string title, xlabel, ylabel;
  bool log_x = true;            // x on a log10 axis (FAR/APCER)
  double x_min = 1e-5, x_max = 1.0, y_min = 0.0, y_max = 1.0;
};

// Requires: path ends in .svg or .png.  Errors: kUsage (other extension), kIoError.
Status write_plot(const std::string& path, const PlotSpec& spec, const std::vector<Series>& series);

}  // namespace simkyc::cli

#include "match/copy_check.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace simkyc {

ChipPrint chip_print(const cv::Mat& chip) {
  if (chip.empty()) return {};
  cv::Mat grey;
  if (chip.channels() == 3) cv::cvtColor(chip, grey, cv::COLOR_BGR2GRAY);
  else if (chip.channels() == 4) cv::cvtColor(chip, grey, cv::COLOR_BGRA2GRAY);
  else grey = chip;
  // The inner face (the chip has 25% padding around it): crops of the picture may cut the outer
  // background differently, the face itself is the same pixels.
  const int side = std::min(grey.cols, grey.rows);
  const int m = side / 8;
  cv::Mat inner = grey(cv::Rect(m, m, side - 2 * m, side - 2 * m));
  cv::Mat small;
  cv::resize(inner, small, cv::Size(kChipPrintSide, kChipPrintSide), 0, 0, cv::INTER_AREA);
  small.convertTo(small, CV_32F);
  ChipPrint out(small.begin<float>(), small.end<float>());
  double mean = 0;
  for (float v : out) mean += v;
  mean /= static_cast<double>(out.size());
  double norm = 0;
  for (float& v : out) {
    v = static_cast<float>(v - mean);
    norm += static_cast<double>(v) * v;
  }
  norm = std::sqrt(norm);
  if (norm > 1e-6)
    for (float& v : out) v = static_cast<float>(v / norm);
  return out;
}

float chip_correlation(const ChipPrint& a, const ChipPrint& b) {
  if (a.empty() || a.size() != b.size()) return 0.f;
  double dot = 0;
  for (std::size_t i = 0; i < a.size(); ++i) dot += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(std::clamp(dot, -1.0, 1.0));
}

}  // namespace simkyc

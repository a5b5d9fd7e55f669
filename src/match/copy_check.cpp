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
  // Where the chip reaches past the photo's edge the aligner fills black (a crop of the portrait
  // cuts the chip there): those pixels are left out.  A print cell counts only when nearly all of
  // its pixels are inside the photo.
  cv::Mat inside;
  if (chip.channels() >= 3) {
    std::vector<cv::Mat> ch;
    cv::split(chip, ch);
    cv::Mat any = ch[0] | ch[1] | ch[2];
    inside = any > 0;
  } else {
    inside = grey > 0;
  }
  // The inner face (the chip has 25% padding around it).
  const int side = std::min(grey.cols, grey.rows);
  const int m = side / 8;
  const cv::Rect inner(m, m, side - 2 * m, side - 2 * m);
  cv::Mat g, k;
  grey(inner).convertTo(g, CV_32F);
  inside(inner).convertTo(k, CV_32F, 1.0 / 255.0);
  cv::Mat gs, ks;
  cv::resize(g.mul(k), gs, cv::Size(kChipPrintSide, kChipPrintSide), 0, 0, cv::INTER_AREA);
  cv::resize(k, ks, cv::Size(kChipPrintSide, kChipPrintSide), 0, 0, cv::INTER_AREA);
  ChipPrint out(static_cast<std::size_t>(kChipPrintSide * kChipPrintSide));
  for (int y = 0; y < kChipPrintSide; ++y)
    for (int x = 0; x < kChipPrintSide; ++x) {
      const float cover = ks.at<float>(y, x);
      out[static_cast<std::size_t>(y * kChipPrintSide + x)] =
          cover >= 0.98f ? gs.at<float>(y, x) / cover : -1.f;
    }
  return out;
}

float chip_correlation(const ChipPrint& a, const ChipPrint& b) {
  if (a.empty() || a.size() != b.size()) return 0.f;
  // Pearson correlation over the cells both prints have (at least half of them).
  double sa = 0, sb = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] >= 0 && b[i] >= 0) {
      sa += a[i];
      sb += b[i];
      ++n;
    }
  if (n < a.size() / 2) return 0.f;
  const double ma = sa / static_cast<double>(n), mb = sb / static_cast<double>(n);
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] >= 0 && b[i] >= 0) {
      const double x = a[i] - ma, y = b[i] - mb;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
  if (aa <= 1e-9 || bb <= 1e-9) return 0.f;
  return static_cast<float>(std::clamp(ab / std::sqrt(aa * bb), -1.0, 1.0));
}

}  // namespace simkyc

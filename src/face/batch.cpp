#include "face/batch.h"

#include "core/file.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace simkyc {

std::vector<BatchItem> analyze_files(const std::vector<std::filesystem::path>& files, const FaceAnalyzer& analyzer,
                                     int threads, const std::function<void(std::size_t, std::size_t)>& progress,
                                     const ImageLimits& limits, const ImageTransform& transform) {
  std::vector<BatchItem> out(files.size());
  std::atomic<std::size_t> next{0}, done{0};
  auto work = [&](FaceAnalyzer a) {
    for (std::size_t i; (i = next.fetch_add(1)) < files.size();) {
      BatchItem& item = out[i];
      // By content: an evaluation measures faces, not file names (the data sets hold e.g. a WebP
      // named .jpg, which load_image() rightly refuses at the service's door).
      auto bytes = read_file_limited(files[i], limits.max_bytes);
      auto img = bytes ? decode_image(*bytes, limits) : Result<Image>(bytes.error());
      if (!img) {
        item.error = img.error();
      } else if (auto fa = a.analyze(transform ? transform(img->bgr) : img->bgr); !fa) {
        item.error = fa.error();
      } else {
        item.descriptor = std::move(fa->descriptor);
        item.quality = fa->quality.reasons;
      }
      const std::size_t d = done.fetch_add(1) + 1;
      if (progress) progress(d, files.size());
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, analyzer.clone());
  work(analyzer.clone());
  for (auto& t : pool) t.join();
  return out;
}

}  // namespace simkyc

namespace simkyc {

cv::Mat simulate_chip_photo(const cv::Mat& bgr, cv::Size size, int jpeg_quality) {
  const double want = static_cast<double>(size.width) / size.height;
  cv::Rect crop(0, 0, bgr.cols, bgr.rows);
  if (static_cast<double>(bgr.cols) / bgr.rows > want) {
    crop.width = static_cast<int>(bgr.rows * want);
    crop.x = (bgr.cols - crop.width) / 2;
  } else {
    crop.height = static_cast<int>(bgr.cols / want);
    crop.y = (bgr.rows - crop.height) / 2;
  }
  cv::Mat small;
  cv::resize(bgr(crop), small, size, 0, 0, cv::INTER_AREA);
  std::vector<std::uint8_t> jpeg;
  cv::imencode(".jpg", small, jpeg, {cv::IMWRITE_JPEG_QUALITY, jpeg_quality});
  return cv::imdecode(jpeg, cv::IMREAD_COLOR);
}

}  // namespace simkyc

namespace simkyc {

cv::Mat simulate_small_face(const cv::Mat& bgr, cv::Size frame, int long_side) {
  // Background: the photo's mean colour with smooth, seeded noise (nothing face-like in it).
  cv::Mat noise(frame.height / 32 + 1, frame.width / 32 + 1, CV_32FC3), canvas, small;
  cv::RNG rng(12);
  rng.fill(noise, cv::RNG::UNIFORM, cv::Scalar::all(-40), cv::Scalar::all(40));
  noise += cv::mean(bgr);
  noise.convertTo(canvas, CV_8UC3);
  cv::resize(canvas, canvas, frame, 0, 0, cv::INTER_CUBIC);
  const double s = static_cast<double>(long_side) / std::max(bgr.cols, bgr.rows);
  const cv::Size sz(std::clamp(static_cast<int>(std::lround(bgr.cols * s)), 1, frame.width),
                    std::clamp(static_cast<int>(std::lround(bgr.rows * s)), 1, frame.height));
  cv::resize(bgr, small, sz, 0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const int x = std::min(frame.width / 3, frame.width - sz.width), y = std::min(frame.height / 2 - sz.height / 2, frame.height - sz.height);
  small.copyTo(canvas(cv::Rect(std::max(0, x), std::max(0, y), sz.width, sz.height)));
  std::vector<std::uint8_t> jpeg;
  cv::imencode(".jpg", canvas, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  return cv::imdecode(jpeg, cv::IMREAD_COLOR);
}

}  // namespace simkyc

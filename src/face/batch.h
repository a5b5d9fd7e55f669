// src/face/batch.h — analyse many image files on several threads, each file once.
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "face/analyzer.h"
#include "image/image.h"

namespace simkyc {

struct BatchItem {
  std::optional<Descriptor> descriptor;   // absent: failure to enrol (see error)
  std::optional<Error> error;             // why (NO_FACE, image guard code, ...)
  std::vector<Reason> quality;            // quality reasons of the main face
};

using ImageTransform = std::function<cv::Mat(const cv::Mat&)>;

// Requires: threads >= 1; `analyzer` loaded.  `progress(done, total)` is called from worker
// threads after each file (may be empty).  `transform`, when set, is applied to each decoded
// image before analysis (e.g. to simulate a document chip photo).
// Ensures: result[i] belongs to files[i].
std::vector<BatchItem> analyze_files(const std::vector<std::filesystem::path>& files,
                                     const FaceAnalyzer& analyzer, int threads,
                                     const std::function<void(std::size_t, std::size_t)>& progress = {},
                                     const ImageLimits& limits = {}, const ImageTransform& transform = {});

// A document chip photo made from an ordinary photo: centre crop to the chip's aspect ratio,
// resize to size (e.g. 102x126), JPEG-encode at `quality` and decode again.
cv::Mat simulate_chip_photo(const cv::Mat& bgr, cv::Size size = {102, 126}, int jpeg_quality = 75);

// A small face in a large photo (a full-length shot, a card scan): the photo scaled so that its
// longer side is `long_side` px, placed at a third of the way across and half way down a `frame`
// whose background is smooth seeded noise around the photo's mean colour (nothing face-like),
// JPEG-encoded at quality 90 and decoded again.
cv::Mat simulate_small_face(const cv::Mat& bgr, cv::Size frame = {1280, 960}, int long_side = 240);

}  // namespace simkyc

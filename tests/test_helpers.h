// Shared helpers for the tests: paths, and models loaded once per test binary.
#pragma once
#include <string>

#include <gtest/gtest.h>

#include "face/analyzer.h"
#include "image/image.h"

namespace simkyc::test {

inline std::string data(const std::string& rel) { return std::string(SIMKYC_TEST_DATA_DIR) + "/" + rel; }
inline std::string face(const std::string& name) { return data("faces/" + name); }
inline std::string model_dir() { return SIMKYC_MODEL_DIR; }

// Requires: the file decodes.  Fails the test otherwise.
inline cv::Mat load_bgr(const std::string& path) {
  auto img = load_image(path);
  EXPECT_TRUE(img.ok()) << path << ": " << (img.ok() ? "" : img.error().describe());
  return img.ok() ? img->bgr : cv::Mat();
}

// One analyzer for the whole binary (loading the models takes about a second).
inline FaceAnalyzer& analyzer() {
  static FaceAnalyzer a = [] {
    auto r = FaceAnalyzer::load(model_dir(), AnalyzerConfig{});
    if (!r) throw std::runtime_error(r.error().describe());
    return std::move(r.value());
  }();
  return a;
}

// Runs a shell command, returns its exit code and stdout.
struct Run {
  int code = -1;
  std::string out;
};
Run run(const std::string& cmd);

}  // namespace simkyc::test

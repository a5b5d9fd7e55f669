// TFLite models brought to ONNX at set-up (tools/tflite2onnx) against the TensorFlow Lite runtime
// itself: @tensorflow/tfjs-tflite's WASM build of TFLite in headless Chromium
// (tools/tflite2onnx/reference.js), on fixed 112x112 crops of real photos (tests/data/faces).
// The same float tensors go to both sides.  Tolerance: descriptor cosine >= 0.9999.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/model_manifest.h"
#include "face/embedder.h"
#include "face/net.h"
#include "face/net_xnn_graph.h"
#include "test_helpers.h"

namespace simkyc {
namespace {

const char* const kTflitePhotos[] = {"jolie-1.jpg", "arin-1.jpg", "chorong-1.jpg", "other-8.jpg"};

double cos_sim(const float* a, const float* b, std::size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// A fixed 112x112 chip: the default analyzer's face box, squared, resized.
std::vector<cv::Mat> chips112() {
  std::vector<cv::Mat> out;
  for (const char* name : kTflitePhotos) {
    const cv::Mat bgr = test::load_bgr(test::face(name));
    auto a = test::analyzer().analyze(bgr, false);
    EXPECT_TRUE(a.ok()) << name;
    if (!a) continue;
    const cv::Rect r = a->box.rect;
    const int side = std::max(r.width, r.height);
    cv::Rect sq(r.x + r.width / 2 - side / 2, r.y + r.height / 2 - side / 2, side, side);
    sq &= cv::Rect(0, 0, bgr.cols, bgr.rows);
    cv::Mat chip;
    cv::resize(bgr(sq), chip, cv::Size(112, 112), 0, 0, cv::INTER_AREA);
    out.push_back(chip);
  }
  return out;
}

// NCHW 1x3xHxW blobs, two at a time, as the NHWC [2,H,W,3] float32 file the TFLite model takes.
std::string write_pair_nhwc(const cv::Mat& a, const cv::Mat& b, const std::string& path) {
  const int h = a.size[2], w = a.size[3];
  std::vector<float> v(static_cast<std::size_t>(2 * h * w * 3));
  for (int k = 0; k < 2; ++k) {
    const float* p = (k ? b : a).ptr<float>();
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < h * w; ++i) v[static_cast<std::size_t>((k * h * w + i) * 3 + c)] = p[c * h * w + i];
  }
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return path;
}

// TFLite on the blobs (pairs: the model's batch is fixed at 2); per blob, its output row.
// Returns nothing (and the caller skips) when Chromium or the modules are missing (exit 77).
std::vector<std::vector<float>> tflite_reference(const std::string& tflite_id, const std::vector<cv::Mat>& blobs, bool& skipped) {
  skipped = false;
  auto model = find_model(test::model_dir(), tflite_id);
  EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().describe());
  if (!model) return {};
  const auto dir = std::filesystem::temp_directory_path() / ("simkyc-tflite-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string cmd = "node " + std::string(SIMKYC_SOURCE_DIR) + "/tools/tflite2onnx/reference.js " + model->path.string();
  for (std::size_t i = 0; i + 1 < blobs.size(); i += 2)
    cmd += " " + write_pair_nhwc(blobs[i], blobs[i + 1], (dir / (std::to_string(i) + ".f32")).string());
  cmd += " --modules " + test::model_dir() + "/tools/node_modules 2>&1";
  const auto r = test::run(cmd);
  std::filesystem::remove_all(dir);
  std::vector<std::vector<float>> res;
  if (r.code == 77) {
    skipped = true;
    return res;
  }
  EXPECT_EQ(r.code, 0) << cmd << "\n" << r.out;
  if (r.code != 0 || r.out.rfind("[{") == std::string::npos) return res;
  for (const auto& item : nlohmann::json::parse(r.out.substr(r.out.rfind("[{")))) {
    const auto shape = item.at("shape").get<std::vector<std::size_t>>();
    const auto data = item.at("data").get<std::vector<float>>();
    EXPECT_EQ(shape.size(), 2u);
    if (shape.size() != 2 || shape[0] != 2 || data.size() != shape[0] * shape[1]) return {};
    for (std::size_t k = 0; k < 2; ++k) res.emplace_back(data.begin() + k * shape[1], data.begin() + (k + 1) * shape[1]);
  }
  return res;
}

// mfn_expo_v1 (converted/mfn_expo.onnx) on OpenCV dnn vs MobileFaceNet.tflite on TFLite.
TEST(Tflite, MfnExpoOnnxMatchesTflite) {
  auto net = DnnNet::load(test::model_dir(), "mfn_expo_v1");
  ASSERT_TRUE(net.ok()) << net.error().describe();
  std::vector<cv::Mat> blobs;
  std::vector<std::vector<float>> ours;
  for (const auto& chip : chips112()) {
    blobs.push_back(make_blob(chip, cv::Scalar(127.5, 127.5, 127.5), 1.0 / 128, true));   // RGB planes, (x - 127.5) / 128
    auto out = net->run(blobs.back(), {"output"});
    ASSERT_TRUE(out.ok()) << out.error().describe();
    ASSERT_EQ(out->at(0).total(), 192u);
    ours.emplace_back(out->at(0).ptr<float>(), out->at(0).ptr<float>() + 192);
  }
  ASSERT_EQ(ours.size(), 4u);
  // The same ONNX file on XNNPACK (its ONNX front-end), from the same chips.
  auto xnn = FaceNet::xnn(test::model_dir(), "mfn_expo_v1", {"output"}, 1);
  ASSERT_TRUE(xnn.ok()) << xnn.error().describe();
  std::vector<std::vector<float>> on_xnn;
  for (const auto& chip : chips112()) {
    auto out = xnn->run(chip, cv::Scalar(127.5, 127.5, 127.5), 1.0 / 128, true);
    ASSERT_TRUE(out.ok()) << out.error().describe();
    ASSERT_EQ(out->at(0).total(), 192u);
    on_xnn.emplace_back(out->at(0).ptr<float>(), out->at(0).ptr<float>() + 192);
  }
  bool skipped = false;
  const auto ref = tflite_reference("expo_mobilefacenet_tflite", blobs, skipped);
  if (skipped) GTEST_SKIP() << "needs /usr/bin/chromium, playwright-core and @tensorflow/tfjs-tflite (scripts/setup.sh)";
  ASSERT_EQ(ref.size(), ours.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    ASSERT_EQ(ref[i].size(), 192u);
    const double c = cos_sim(ours[i].data(), ref[i].data(), 192);
    EXPECT_GE(c, 0.9999) << kTflitePhotos[i];
    const double cx = cos_sim(on_xnn[i].data(), ref[i].data(), 192);
    EXPECT_GE(cx, 0.9999) << kTflitePhotos[i];
    std::printf("[ tflite ] mfn_expo_v1 vs TFLite on %s: 1 - cosine = %.2e (OpenCV dnn), %.2e (XNNPACK)\n", kTflitePhotos[i], 1 - c,
                1 - cx);
  }
  // Different people get different descriptors: the comparison above is not vacuous.
  EXPECT_LT(cos_sim(ours[0].data(), ours[1].data(), 192), 0.9);
  EXPECT_LT(cos_sim(ref[0].data(), ref[3].data(), 192), 0.9);
}

// The ONNX front-end of XNNPACK against OpenCV dnn on the same ONNX files and chips:
// fr_feature (BGR planes, (x - 127) / 128) and mfn_expo (RGB, (x - 127.5) / 128), 1 and 2 threads.
void expect_xnn_matches_dnn(const std::string& id, cv::Scalar mean, double scale, bool rgb, std::size_t dims) {
  auto dnn = FaceNet::onnx(test::model_dir(), id, {"output"});
  ASSERT_TRUE(dnn.ok()) << dnn.error().describe();
  for (int threads : {1, 2}) {
    auto xnn = FaceNet::xnn(test::model_dir(), id, {"output"}, threads);
    ASSERT_TRUE(xnn.ok()) << xnn.error().describe();
    std::vector<std::vector<float>> got;
    std::size_t k = 0;
    for (const auto& chip : chips112()) {
      auto a = dnn->run(chip, mean, scale, rgb);
      auto b = xnn->run(chip, mean, scale, rgb);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->at(0).total(), dims);
      ASSERT_EQ(b->at(0).total(), dims);
      const double c = cos_sim(a->at(0).ptr<float>(), b->at(0).ptr<float>(), dims);
      EXPECT_GE(c, 0.9999) << id << " on " << kTflitePhotos[k];
      std::printf("[ xnn-onnx ] %s, %d thread(s), XNNPACK vs OpenCV dnn on %s: 1 - cosine = %.2e\n", id.c_str(), threads,
                  kTflitePhotos[k], 1 - c);
      got.emplace_back(b->at(0).ptr<float>(), b->at(0).ptr<float>() + dims);
      ++k;
    }
    ASSERT_EQ(got.size(), 4u);
    EXPECT_LT(cos_sim(got[0].data(), got[1].data(), dims), 0.9);   // different people: not vacuous
  }
}

TEST(Tflite, FrFeatureOnXnnpackMatchesOpenCv) { expect_xnn_matches_dnn("fr_feature_v1", cv::Scalar(127, 127, 127), 1.0 / 128, false, 512); }
TEST(Tflite, MfnExpoOnXnnpackMatchesOpenCv) { expect_xnn_matches_dnn("mfn_expo_v1", cv::Scalar(127.5, 127.5, 127.5), 1.0 / 128, true, 192); }

// What the ONNX front-end does not know is refused at load, naming the node: fr_detect's
// post-processing (Shape, Gather, a Concat of shapes...), an output no node makes.  Its network up
// to the heads can still be requested (below).
TEST(Tflite, XnnpackOnnxRefusesWhatItCannotTranslate) {
  auto det = XnnNet::load(test::model_dir(), "fr_detect_v1", {"scores", "boxes"}, 1);
  ASSERT_FALSE(det.ok());
  EXPECT_EQ(det.error().reason, Reason::kModelError);
  EXPECT_NE(det.error().detail.find("(XNNPACK, ONNX): "), std::string::npos) << det.error().detail;
  EXPECT_NE(det.error().detail.find("fr_detect_v1"), std::string::npos) << det.error().detail;
  std::printf("[ xnn-onnx ] fr_detect_v1 refused: %s\n", det.error().detail.c_str());
  auto missing = XnnNet::load(test::model_dir(), "mfn_expo_v1", {"no_such_value"}, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().detail.find("no node makes no_such_value"), std::string::npos) << missing.error().detail;
}

// fr_detect_v1's network up to its eight head outputs (the Transposes to NHWC its post-processing
// reshapes and concatenates; its trunk concatenates channels, translated as zero-pad + add):
// XNNPACK vs OpenCV dnn (the convolutions the heads transpose) on the same 320x240 input, every
// value within 1e-3 + 1e-4 x value.
TEST(Tflite, FrDetectHeadsOnXnnpackMatchOpenCv) {
  const std::vector<std::string> heads = {"320", "334", "366", "380", "406", "420", "438", "450"};
  const std::vector<std::string> convs = {"onnx_node!Conv_49", "onnx_node!Conv_59", "onnx_node!Conv_81", "onnx_node!Conv_91", "onnx_node!Conv_109", "onnx_node!Conv_119", "onnx_node!Conv_133", "onnx_node!Conv_141"};   // OpenCV 4.6 names layers "onnx_node!" + node name: the convolutions the heads transpose
  auto xnn = FaceNet::xnn(test::model_dir(), "fr_detect_v1", heads, 1);
  ASSERT_TRUE(xnn.ok()) << xnn.error().describe();
  auto dnn = DnnNet::load(test::model_dir(), "fr_detect_v1");
  ASSERT_TRUE(dnn.ok()) << dnn.error().describe();
  for (const char* name : kTflitePhotos) {
    cv::Mat img;
    cv::resize(test::load_bgr(test::face(name)), img, cv::Size(320, 240), 0, 0, cv::INTER_AREA);
    const cv::Scalar mean(127, 127, 127);
    auto a = xnn->run(img, mean, 1.0 / 128, true);
    ASSERT_TRUE(a.ok()) << a.error().describe();
    auto b = dnn->run(make_blob(img, mean, 1.0 / 128, true), convs);
    ASSERT_TRUE(b.ok()) << b.error().describe();
    double worst = 0;
    for (std::size_t k = 0; k < heads.size(); ++k) {
      const cv::Mat& y = b->at(k);   // NCHW [1, C, H, W]
      ASSERT_EQ(y.dims, 4) << convs[k];
      const int c = y.size[1], h = y.size[2], w = y.size[3];
      ASSERT_EQ(a->at(k).total(), static_cast<std::size_t>(c * h * w)) << heads[k];
      const float* x = a->at(k).ptr<float>();   // NHWC: the Transpose's output
      const float* yp = y.ptr<float>();
      for (int yy = 0; yy < h; ++yy)
        for (int xx = 0; xx < w; ++xx)
          for (int cc = 0; cc < c; ++cc) {
            const double ref = yp[(cc * h + yy) * w + xx], got = x[(yy * w + xx) * c + cc];
            worst = std::max(worst, std::abs(got - ref) / (1e-3 + 1e-4 * std::abs(ref)));
          }
    }
    EXPECT_LE(worst, 1.0) << name;
    std::printf("[ xnn-onnx ] fr_detect_v1 heads, XNNPACK vs OpenCV dnn on %s: worst error %.3f of the tolerance\n", name, worst);
  }
}

// The ONNX reader is bounds-checked: a truncated or damaged file (past the manifest's checksum,
// which guards it in use) is an error or a graph, never a read outside the bytes.
TEST(Tflite, XnnpackOnnxReaderSurvivesDamagedFiles) {
  ASSERT_TRUE(XnnNet::load(test::model_dir(), "mfn_expo_v1", {"output"}, 1).ok());   // initialises XNNPACK
  auto f = find_model(test::model_dir(), "mfn_expo_v1");
  ASSERT_TRUE(f.ok());
  auto bytes = read_checked_model_file(*f, 64u << 20);
  ASSERT_TRUE(bytes.ok());
  const auto attempt = [](const std::string& b) {
    XnnGraph g;
    if (xnn_create_subgraph(2, 0, &g.subgraph) != xnn_status_success) return false;
    return build_onnx_subgraph(g, "damaged", b, {"output"}).ok();
  };
  int refused = 0, tries = 0;
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{100}, std::size_t{1000}, bytes->size() / 3,
                          bytes->size() / 2, bytes->size() - 1}) {
    ++tries;
    refused += !attempt(bytes->substr(0, cut));
  }
  cv::RNG rng(11);
  for (int k = 0; k < 40; ++k) {   // a few random bytes changed in the first 4 KiB (the graph's structure)
    std::string b = *bytes;
    for (int j = 0; j < 4; ++j) b[static_cast<std::size_t>(rng.uniform(0, 4096))] = static_cast<char>(rng.uniform(0, 256));
    ++tries;
    refused += !attempt(b);
  }
  EXPECT_GE(refused, 8) << "every truncation must be refused";
  std::printf("[ xnn-onnx ] damaged ONNX files: %d of %d refused, none crashed\n", refused, tries);
}

// The *_xnn_v1 embedder ids: the OpenCV dnn id's spec on XNNPACK, and the same model's scores.
TEST(Tflite, OnnxXnnEmbeddersMapToTheirModels) {
  EXPECT_EQ(fastest_runtime("fr_feature_v1"), "fr_feature_xnn_v1");
  EXPECT_EQ(fastest_runtime("mfn_expo_v1"), "mfn_expo_xnn_v1");
  EXPECT_EQ(scores_model("fr_feature_xnn_v1"), "fr_feature_v1");
  EXPECT_EQ(scores_model("mfn_expo_xnn_v1"), "mfn_expo_v1");
  for (const std::string id : {"fr_feature", "mfn_expo"}) {
    auto dnn = make_dnn_embedder(test::model_dir(), id + "_v1");
    if (!dnn) {
      std::printf("[ xnn-onnx ] %s_v1 is not an embedder in this tree yet (branch recog): skipped\n", id.c_str());
      continue;
    }
    auto xnn = make_dnn_embedder(test::model_dir(), id + "_xnn_v1");
    ASSERT_TRUE(xnn.ok()) << xnn.error().describe();
    EXPECT_EQ((*xnn)->info().name, id + "_xnn_v1");
    EXPECT_EQ((*xnn)->info().sha256, (*dnn)->info().sha256);
    EXPECT_EQ((*xnn)->info().input_size, (*dnn)->info().input_size);
    EXPECT_EQ((*xnn)->info().dims, (*dnn)->info().dims);
  }
}

}  // namespace
}  // namespace simkyc

// Proof of correctness of the converted networks (docs/inference.md): each ONNX model run by
// OpenCV dnn against its reference on real photos — TensorFlow.js itself (CPU backend, run under
// node by tools/tfjs2onnx/reference.js) for the TF.js models, dlib for the dlib ResNet.
// Inputs are the same float tensors on both sides, so these test the networks, not the resizing.
// Tolerances: descriptors cosine similarity >= 0.9999; scores (probabilities) within 1e-4;
// BlazeFace's raw outputs within 1e-3 absolute + 1e-4 relative (they are logits and pixels).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/model_manifest.h"
#include "face/net.h"
#include "liveness/passive.h"
#include "test_helpers.h"

namespace simkyc {
namespace {

const char* const kPhotos[] = {"jolie-1.jpg", "arin-1.jpg", "chorong-1.jpg", "other-8.jpg"};

double cosine(const float* a, const float* b, std::size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// Writes an NCHW blob (1x3xHxW) as TF's NHWC float32 file.
std::string write_nhwc(const cv::Mat& blob, const std::string& path) {
  const int h = blob.size[2], w = blob.size[3];
  std::vector<float> v(static_cast<std::size_t>(h * w * 3));
  const float* p = blob.ptr<float>();
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < h * w; ++i) v[static_cast<std::size_t>(i * 3 + c)] = p[c * h * w + i];
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return path;
}

// Runs TF.js on the blobs; returns, per blob, output name -> values.
std::vector<std::map<std::string, std::vector<float>>> tfjs_reference(const std::string& tfjs_id,
                                                                      const std::vector<cv::Mat>& blobs,
                                                                      const std::vector<std::string>& outputs) {
  auto model = find_model(test::model_dir(), tfjs_id);
  EXPECT_TRUE(model.ok()) << (model.ok() ? "" : model.error().describe());
  if (!model) return {};
  const auto dir = std::filesystem::temp_directory_path() / ("simkyc-dnn-" + std::to_string(::getpid()) + "-" + tfjs_id);
  std::filesystem::create_directories(dir);
  std::string cmd = "node " + std::string(SIMKYC_SOURCE_DIR) + "/tools/tfjs2onnx/reference.js " + model->path.string() + " 1," +
                    std::to_string(blobs[0].size[2]) + "," + std::to_string(blobs[0].size[3]) + ",3 ";
  for (std::size_t i = 0; i < outputs.size(); ++i) cmd += (i ? "," : "") + outputs[i];
  for (std::size_t i = 0; i < blobs.size(); ++i) cmd += " " + write_nhwc(blobs[i], (dir / (std::to_string(i) + ".f32")).string());
  cmd += " --modules " + test::model_dir() + "/tools/node_modules 2>/dev/null";
  const auto r = test::run(cmd);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.code, 0) << cmd;
  std::vector<std::map<std::string, std::vector<float>>> res;
  if (r.code != 0 || r.out.rfind("[{") == std::string::npos) return res;
  for (const auto& item : nlohmann::json::parse(r.out.substr(r.out.rfind("[{")))) {
    std::map<std::string, std::vector<float>> m;
    for (const auto& o : outputs) m[o] = item.at(o).at("data").get<std::vector<float>>();
    res.push_back(std::move(m));
  }
  return res;
}

struct Face {
  cv::Mat bgr;
  FaceBox box;
  Landmarks landmarks;
};

std::vector<Face> faces() {
  std::vector<Face> out;
  for (const char* name : kPhotos) {
    Face f{test::load_bgr(test::face(name)), {}, {}};
    auto a = test::analyzer().analyze(f.bgr, false);
    EXPECT_TRUE(a.ok()) << name;
    if (!a) continue;
    f.box = a->box;
    f.landmarks = a->landmarks;
    out.push_back(std::move(f));
  }
  return out;
}

// Embedder `id` (OpenCV dnn, through the Embedder interface) vs TF.js on the same chips.
// `separates`: whether different people get clearly different descriptors (mobilefacenet's do not:
// its shipped graph has its PReLUs fused into ReLUs, a defect kept on purpose).
void expect_embedder_matches_tfjs(const std::string& id, const std::string& tfjs_id, const std::string& output,
                                  cv::Scalar mean, double scale, bool rgb, bool separates,
                                  const std::vector<std::string>& heads = {}) {
  auto emb = make_dnn_embedder(test::model_dir(), id);
  ASSERT_TRUE(emb.ok()) << emb.error().describe();
  std::vector<cv::Mat> blobs;
  std::vector<Descriptor> ours;
  for (const auto& f : faces()) {
    const FaceChip chip = make_embedder_chip(f.bgr, f.box, f.landmarks, (*emb)->info());
    blobs.push_back(make_blob(chip.bgr, mean, scale, rgb));
    auto d = (*emb)->embed(chip);
    ASSERT_TRUE(d.ok());
    ours.push_back(*d);
  }
  std::vector<std::string> outputs = {output};
  outputs.insert(outputs.end(), heads.begin(), heads.end());
  const auto ref = tfjs_reference(tfjs_id, blobs, outputs);
  ASSERT_EQ(ref.size(), ours.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const auto& r = ref[i].at(output);
    ASSERT_EQ(r.size(), ours[i].size());
    const double c = cosine(ours[i].data(), r.data(), r.size());
    EXPECT_GE(c, 0.9999) << id << " on " << kPhotos[i];
    std::printf("[ dnn ] %s vs TF.js on %s: 1 - cosine = %.2e\n", id.c_str(), kPhotos[i], 1 - c);
  }
  // Different people: the comparison above is not vacuous (or the defect is still there).
  const double other = cosine(ours[0].data(), ours[1].data(), ours[0].size());
  if (separates) EXPECT_LT(other, 0.99);
  else EXPECT_GT(other, 0.999) << "mobilefacenet now separates faces: was its graph fixed?";
  // Other heads of the same network (probabilities): within 1e-4.
  if (heads.empty()) return;
  auto net = DnnNet::load(test::model_dir(), id);
  ASSERT_TRUE(net.ok());
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    auto o = net->run(blobs[i], heads);
    ASSERT_TRUE(o.ok());
    for (std::size_t k = 0; k < heads.size(); ++k) {
      const auto& r = ref[i].at(heads[k]);
      ASSERT_EQ(r.size(), (*o)[k].total());
      for (std::size_t j = 0; j < r.size(); ++j) EXPECT_NEAR((*o)[k].ptr<float>()[j], r[j], 1e-4) << heads[k] << " " << j;
    }
  }
}

TEST(Dnn, FaceresMatchesTfjs) {
  expect_embedder_matches_tfjs("faceres_v1", "tfjs_faceres", "global_pooling/Mean", {103.939, 116.779, 123.68}, 1.0, false,
                               true, {"gender_pred/Sigmoid", "age_pred/Softmax"});
}

// The same network on XNNPACK (src/face/net_xnn_onnx.cpp translates the same ONNX file).
TEST(Dnn, FaceresOnXnnpackMatchesTfjs) {
  expect_embedder_matches_tfjs("faceres_xnn_v1", "tfjs_faceres", "global_pooling/Mean", {103.939, 116.779, 123.68}, 1.0,
                               false, true);
}

TEST(Dnn, MobilefacenetMatchesTfjs) {
  expect_embedder_matches_tfjs("mobilefacenet_v1", "tfjs_mobilefacenet", "embeddings", cv::Scalar::all(127.5), 1.0 / 128,
                               true, false);
}

// BlazeFace's raw outputs on `net` (either runtime) vs TF.js on the same 256 px inputs.
void expect_blazeface_matches_tfjs(FaceNet net, const char* runtime) {
  std::vector<cv::Mat> inputs, blobs;
  for (const char* name : kPhotos) {
    cv::Mat img = test::load_bgr(test::face(name)), sq;
    cv::resize(img, sq, cv::Size(256, 256), 0, 0, cv::INTER_AREA);
    inputs.push_back(sq);
    blobs.push_back(make_blob(sq, cv::Scalar::all(127.5), 1.0 / 127.5, true));
  }
  const std::vector<std::string> outs = {"Identity", "Identity_1", "Identity_2", "Identity_3"};
  const auto ref = tfjs_reference("tfjs_blazeface", blobs, outs);
  ASSERT_EQ(ref.size(), blobs.size());
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    auto o = net.run(inputs[i], cv::Scalar::all(127.5), 1.0 / 127.5, true);
    ASSERT_TRUE(o.ok()) << o.error().describe();
    double worst = 0;
    for (std::size_t k = 0; k < outs.size(); ++k) {
      const auto& r = ref[i].at(outs[k]);
      ASSERT_EQ(r.size(), (*o)[k].total());
      for (std::size_t j = 0; j < r.size(); ++j) {
        const double d = std::abs((*o)[k].ptr<float>()[j] - r[j]);
        worst = std::max(worst, d / (1e-3 + 1e-4 * std::abs(r[j])));
        ASSERT_LE(d, 1e-3 + 1e-4 * std::abs(r[j])) << runtime << " " << outs[k] << "[" << j << "] on " << kPhotos[i];
      }
    }
    std::printf("[ dnn ] blazeface (%s) vs TF.js on %s: worst error %.3f of the tolerance\n", runtime, kPhotos[i], worst);
  }
}

const std::vector<std::string> kBlazefaceOutputs = {"Identity", "Identity_1", "Identity_2", "Identity_3"};

TEST(Dnn, BlazefaceMatchesTfjs) {
  auto net = FaceNet::onnx(test::model_dir(), "blazeface_v1", kBlazefaceOutputs);
  ASSERT_TRUE(net.ok()) << net.error().describe();
  expect_blazeface_matches_tfjs(std::move(net.value()), "OpenCV dnn");
}

TEST(Dnn, BlazefaceOnXnnpackMatchesTfjs) {
  auto net = FaceNet::xnn(test::model_dir(), "blazeface_v1", kBlazefaceOutputs, 2);
  ASSERT_TRUE(net.ok()) << net.error().describe();
  expect_blazeface_matches_tfjs(std::move(net.value()), "XNNPACK");
}

// XNNPACK takes ONNX files only (the TF.js graphs are brought to ONNX at set-up like every
// model), and an output that is not a value of the graph is refused, both at load with the
// reason, never run as something else (what the ONNX front-end does not know: tests/test_tflite.cpp).
TEST(Dnn, XnnpackRefusesWhatItCannotTranslate) {
  auto spoof = XnnNet::load(test::model_dir(), "tfjs_antispoof", {"Identity"}, 1);
  ASSERT_FALSE(spoof.ok());
  EXPECT_EQ(spoof.error().reason, Reason::kModelError);
  EXPECT_NE(spoof.error().detail.find("tfjs_antispoof (XNNPACK): not an ONNX file"), std::string::npos) << spoof.error().detail;
  auto missing = XnnNet::load(test::model_dir(), "blazeface_v1", {"no_such_node"}, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().detail.find("no node makes no_such_node"), std::string::npos) << missing.error().detail;
  auto unknown = XnnNet::load(test::model_dir(), "no_such_graph", {"Identity"}, 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().reason, Reason::kModelError);
  // A wrong input is an error, not a read past the buffer.
  auto ok = XnnNet::load(test::model_dir(), "blazeface_v1", kBlazefaceOutputs, 1);
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  auto r = ok->run(cv::Mat(100, 100, CV_8UC3, cv::Scalar::all(0)), cv::Scalar::all(0), 1.0, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::kInternal);
}

TEST(Dnn, BlazefaceFindsTheFacesHogFinds) {
  auto det = make_dnn_detector(test::model_dir(), "blazeface_v1", DetectorConfig{});
  ASSERT_TRUE(det.ok()) << det.error().describe();
  for (const auto& f : faces()) {
    auto boxes = (*det)->detect(f.bgr);
    ASSERT_TRUE(boxes.ok());
    ASSERT_FALSE(boxes->empty());
    // The same face, with about HOG's geometry (the dlib landmarkers rely on it).
    const cv::Rect2f& b = boxes->front().rect;
    const cv::Rect2f& h = f.box.rect;
    EXPECT_TRUE(h.contains((b.tl() + b.br()) / 2)) << b << " vs HOG " << h;
    EXPECT_LT(std::max(b.width / h.width, h.width / b.width), 1.8f) << b << " vs HOG " << h;
  }
}

TEST(Dnn, AntispoofMatchesTfjs) {
  auto model = make_dnn_liveness_model(test::model_dir(), "antispoof_v1");
  ASSERT_TRUE(model.ok()) << model.error().describe();
  std::vector<cv::Mat> blobs;
  std::vector<float> ours;
  for (const auto& f : faces()) {
    cv::Mat crop = face_crop(f.bgr, f.box), in;
    cv::resize(crop, in, cv::Size(128, 128), 0, 0, crop.cols > 128 ? cv::INTER_AREA : cv::INTER_LINEAR);
    blobs.push_back(make_blob(in, cv::Scalar::all(0), 1.0 / 255, true));
    auto s = (*model)->attack_score(crop);
    ASSERT_TRUE(s.ok());
    ours.push_back(*s);
  }
  const auto ref = tfjs_reference("tfjs_antispoof", blobs, {"Identity"});
  ASSERT_EQ(ref.size(), ours.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_NEAR(ours[i], 1.f - ref[i].at("Identity")[0], 1e-4) << kPhotos[i];
    std::printf("[ dnn ] antispoof on %s: attack score %.6f, TF.js %.6f\n", kPhotos[i], ours[i], 1.f - ref[i].at("Identity")[0]);
  }
}

// The dlib ResNet converted (dlib2onnx) and run by OpenCV dnn and by XNNPACK, against dlib itself.
TEST(Dnn, DlibResnetOnnxAndXnnpackMatchDlib) {
  auto dlib_emb = make_dlib_resnet_embedder(test::model_dir());
  ASSERT_TRUE(dlib_emb.ok()) << dlib_emb.error().describe();
  // The runtime fusion models run their dlib part on (fastest_runtime) is one of these.
  EXPECT_EQ(fastest_runtime("dlib_resnet_v1"), "dlib_resnet_xnn_v1");
  for (const char* id : {"dlib_resnet_onnx_v1", "dlib_resnet_xnn_v1"}) {
    auto other = make_embedder(test::model_dir(), id);
    ASSERT_TRUE(other.ok()) << other.error().describe();
    ASSERT_EQ((*other)->info().input_size, 150);
    std::vector<Descriptor> ours;
    for (const auto& f : faces()) {
      const FaceChip chip = align_face(f.bgr, f.landmarks, 150);
      auto a = (*dlib_emb)->embed(chip);
      auto b = (*other)->embed(chip);
      ASSERT_TRUE(a.ok() && b.ok());
      const double c = cosine(a->data(), b->data(), a->size());
      EXPECT_GE(c, 0.9999) << id;
      std::printf("[ dnn ] %s vs dlib on a chip: 1 - cosine = %.2e\n", id, 1 - c);
      ours.push_back(*b);
    }
    EXPECT_LT(cosine(ours[0].data(), ours[1].data(), ours[0].size()), 0.99);
  }
}

TEST(Dnn, ConvertedFilesAreTheManifests) {
  // scripts/models.js checks the SHA-256 of every converted file; here: each loads and says so.
  for (const char* id : {"faceres_v1", "mobilefacenet_v1", "blazeface_v1", "antispoof_v1", "dlib_resnet_onnx_v1"}) {
    auto net = DnnNet::load(test::model_dir(), id);
    ASSERT_TRUE(net.ok()) << id << ": " << net.error().describe();
    EXPECT_EQ(net->file().sha256.size(), 64u);
  }
}

}  // namespace
}  // namespace simkyc

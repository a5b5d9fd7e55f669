#include "cli/bench_inference.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/clock.h"
#include "core/model_manifest.h"
#include "face/embedder.h"
#include "face/landmarks.h"
#include "face/net.h"   // the issue-11 networks timed at the network (below)
#include "policy/verifier.h"

namespace simkyc::cli {
namespace {

template <class F>
std::vector<double> timed(int n, F&& f) {
  std::vector<double> out;
  f();   // warm-up
  for (int i = 0; i < n; ++i) {
    Stopwatch sw;
    f();
    out.push_back(sw.elapsed_ms());
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// 12 independent 8-wide FMA chains: enough to hide the FMA latency on current x86 cores.
__attribute__((target("avx2,fma"))) double fma_loop_avx2(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long k = 0; k < iters; ++k)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  float sum = 0, tmp[8];
  for (int i = 0; i < 12; ++i) {
    _mm256_storeu_ps(tmp, acc[i]);
    for (float x : tmp) sum += x;
  }
  return static_cast<double>(sum);
}

double fma_loop_scalar(long iters) {
  float acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = static_cast<float>(i) * 1e-3f;
  for (long k = 0; k < iters; ++k)
    for (float& x : acc) x = x * 0.999999f + 1e-7f;
  float sum = 0;
  for (float x : acc) sum += x;
  return static_cast<double>(sum);
}

// GFLOP of one forward pass of a converted network: the manifest's "gflop", which
// tools/tfjs2onnx/convert.js counts (2 per multiply-add of convolutions and matrix products).
double net_gflop(const std::filesystem::path& model_dir, const std::string& id) {
  std::ifstream in(model_dir / "manifest.json");
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("models") || !j["models"].contains(id)) return 0;
  return j["models"][id].value("gflop", 0.0);
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

}  // namespace

double measure_fma_peak_gflops(int threads, double seconds) {
  const bool avx = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const double flop_per_iter = avx ? 12 * 8 * 2 : 12 * 2;
  long iters = 1 << 16;
  for (;;) {   // calibrate the length on one thread
    Stopwatch sw;
    volatile double sink = avx ? fma_loop_avx2(iters) : fma_loop_scalar(iters);
    (void)sink;
    if (sw.elapsed_ms() > 20) break;
    iters *= 2;
  }
  Stopwatch probe;
  volatile double sink = avx ? fma_loop_avx2(iters) : fma_loop_scalar(iters);
  (void)sink;
  const double ms_per_run = probe.elapsed_ms();
  const long total = static_cast<long>(static_cast<double>(iters) * seconds * 1000.0 / std::max(1e-3, ms_per_run));
  Stopwatch sw;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] { volatile double s = avx ? fma_loop_avx2(total) : fma_loop_scalar(total); (void)s; });
  for (auto& th : pool) th.join();
  return static_cast<double>(total) * flop_per_iter * threads / (sw.elapsed_ms() * 1e6);
}

Result<std::vector<TimedRow>> inference_bench_rows(const std::filesystem::path& model_dir, const cv::Mat& live,
                                                   std::span<const std::uint8_t> id_bytes,
                                                   std::span<const std::uint8_t> live_bytes, int n) {
  std::vector<TimedRow> rows;
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const double peak1 = measure_fma_peak_gflops(1);
  const double peak_all = measure_fma_peak_gflops(cores);
  rows.push_back({"FMA peak probe: " + fmt("%.1f", peak1) + " GFLOP/s 1 core, " + fmt("%.1f", peak_all) + " all " +
                      std::to_string(cores), "-", {0.0}});

  cv::Mat img;
  cv::resize(live, img, cv::Size(640, 480));
  // Detectors at 640x480.
  std::vector<FaceBox> boxes;
  for (const char* id : {"hog", "blazeface", "blazeface_xnn_v1", "mmod"}) {
    auto det = make_detector(model_dir, id, DetectorConfig{});
    if (!det) continue;
    auto r = timed(std::string(id) == "mmod" ? std::max(1, n / 10) : n, [&] { (void)(*det)->detect(img); });
    rows.push_back({std::string("detect ") + id, "640x480", r});
    if (std::string(id) == "hog") boxes = *(*det)->detect(img);
  }
  if (boxes.empty()) return make_error(Reason::kNoFace, "bench image");
  auto lm = make_dlib_landmarker(model_dir, 5);
  if (!lm) return lm.error();
  auto l = (*lm)->locate(img, boxes[0]);
  if (!l) return l.error();
  // Descriptor per face, with the GFLOP/s each achieves: 1 face at a time (OpenCV dnn: all cores in
  // its own pool; XNNPACK: 1 or `cores` threads), and 2 faces at once, one per core (a verification).
  const auto gflop_of = [&](const std::string& id) {   // GFLOP is counted on the ONNX file of the same network
    const std::string m = scores_model(id);
    return net_gflop(model_dir, m == "dlib_resnet_v1" ? "dlib_resnet_onnx_v1" : m);
  };
  const std::pair<const char*, int> embedders[] = {{"dlib_resnet_v1", 1}, {"dlib_resnet_onnx_v1", 1},
                                                   {"dlib_resnet_xnn_v1", 1}, {"dlib_resnet_xnn_v1", cores},
                                                   {"faceres_v1", 1}, {"faceres_xnn_v1", 1}, {"faceres_xnn_v1", cores},
                                                   {"mobilefacenet_v1", 1}};
  for (auto [id, threads] : embedders) {
    auto emb = std::string(id) == "dlib_resnet_v1" ? make_embedder(model_dir, id) : make_dnn_embedder(model_dir, id, threads);
    if (!emb) continue;
    const ModelInfo info = (*emb)->info();
    const FaceChip chip = make_embedder_chip(img, boxes[0], *l, info);
    auto r = timed(n, [&] { (void)(*emb)->embed(chip); });
    const double gflop = gflop_of(id);
    const bool xnn = std::string(id).find("_xnn_") != std::string::npos;
    rows.push_back({std::string("embed ") + id + (xnn ? " " + std::to_string(threads) + " thr" : "") + " (" +
                        fmt("%.2f", gflop) + " GFLOP, " + fmt("%.1f", gflop / (median(r) / 1e3)) + " GFLOP/s)",
                    std::to_string(info.input_size) + " chip", r});
    if (!xnn || threads != 1 || cores < 2) continue;
    // Two faces at once, one instance per core: time per face.
    auto other = (*emb)->clone();
    if (!other) continue;
    auto pair = timed(n, [&] {
      std::thread t([&] { (void)other->embed(chip); });
      (void)(*emb)->embed(chip);
      t.join();
    });
    for (double& ms : pair) ms /= 2;
    rows.push_back({std::string("embed ") + id + " 2 faces at once, per face (" +
                        fmt("%.1f", gflop / (median(pair) / 1e3)) + " GFLOP/s)", std::to_string(info.input_size) + " chip", pair});
  }
  // The ONNX descriptors of issue 11 (fr_feature_v1 from faceplugin, mfn_expo_v1 converted from
  // MobileFaceNet.tflite), timed at the network (FaceNet::run: what their embedders run per face,
  // before an L2 normalisation) on a 112x112 crop of the bench face: OpenCV dnn, XNNPACK through
  // its ONNX front-end with 1 and `cores` threads, and 2 faces at once (XNNPACK, one per core).
  struct OnnxNet {
    const char* id;
    cv::Scalar mean;
    bool rgb;
  };
  const OnnxNet onnx_nets[] = {{"fr_feature_v1", {127, 127, 127}, false}, {"mfn_expo_v1", {127.5, 127.5, 127.5}, true}};
  cv::Mat chip112;
  {
    const cv::Rect r = boxes[0].rect;
    const int side = std::max(r.width, r.height);
    const cv::Rect sq = cv::Rect(r.x + r.width / 2 - side / 2, r.y + r.height / 2 - side / 2, side, side) & cv::Rect(0, 0, img.cols, img.rows);
    cv::resize(img(sq), chip112, cv::Size(112, 112), 0, 0, cv::INTER_AREA);
  }
  for (const auto& on : onnx_nets) {
    const double gflop = net_gflop(model_dir, on.id);
    for (int threads : {0, 1, cores}) {   // 0: OpenCV dnn
      if (threads == cores && cores == 1) continue;
      auto net = threads == 0 ? FaceNet::onnx(model_dir, on.id, {"output"}) : FaceNet::xnn(model_dir, on.id, {"output"}, threads);
      if (!net) continue;
      auto r = timed(n, [&] { (void)net->run(chip112, on.mean, 1.0 / 128, on.rgb); });
      const std::string runtime = threads == 0 ? "OpenCV dnn" : "XNNPACK " + std::to_string(threads) + " thr";
      rows.push_back({std::string("embed ") + on.id + " net, " + runtime + " (" + fmt("%.2f", gflop) + " GFLOP, " +
                          fmt("%.1f", gflop / (median(r) / 1e3)) + " GFLOP/s)",
                      "112 chip", r});
      if (threads != 1 || cores < 2) continue;
      auto other = net->fresh();
      if (!other) continue;
      auto pair = timed(n, [&] {
        std::thread t([&] { (void)other->run(chip112, on.mean, 1.0 / 128, on.rgb); });
        (void)net->run(chip112, on.mean, 1.0 / 128, on.rgb);
        t.join();
      });
      for (double& ms : pair) ms /= 2;
      rows.push_back({std::string("embed ") + on.id + " net, XNNPACK 2 faces at once, per face (" +
                          fmt("%.1f", gflop / (median(pair) / 1e3)) + " GFLOP/s)", "112 chip", pair});
    }
  }
  // End-to-end verify of the two bench photos, per detector + embedder pair.
  const std::pair<const char*, const char*> pairs[] = {
      {"hog+mmod", "dlib_resnet_v1"},          {"hog+mmod", "dlib_resnet_onnx_v1"},
      {"hog+mmod", "dlib_resnet_xnn_v1"},      {"blazeface", "dlib_resnet_onnx_v1"},
      {"blazeface_xnn_v1", "dlib_resnet_xnn_v1"}, {"hog+mmod", kDecisionEmbedder}};
  for (auto [det, emb] : pairs) {
    VerifierConfig vc;
    vc.analyzer.detector_id = det;
    vc.analyzer.embedder_id = emb;
    auto v = Verifier::load(model_dir, vc);
    if (!v) continue;
    rows.push_back({std::string("verify ") + det + " + " + emb + " (2 threads)", "2 photos",
                    timed(n, [&] { (void)v->verify(id_bytes, live_bytes); })});
  }
  return rows;
}

}  // namespace simkyc::cli

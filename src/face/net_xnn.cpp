// XnnNet: an XNNPACK runtime of the subgraph net_xnn_onnx.cpp translates from an ONNX file (the
// one form every model is brought to at set-up, docs/inference.md), its input filled from an 8-bit
// image as make_blob does, and its outputs copied out.
#include "face/net_xnn.h"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <mutex>

#include "core/model_manifest.h"
#include "face/net_xnn_graph.h"

namespace simkyc {

struct XnnNet::Runtime {
  pthreadpool_t pool = nullptr;
  xnn_runtime_t runtime = nullptr;
  std::vector<float> input;
  std::vector<std::vector<float>> outputs;
  ~Runtime() {
    if (runtime) xnn_delete_runtime(runtime);
    if (pool) pthreadpool_destroy(pool);
  }
};

namespace {

Status init_xnnpack() {
  static std::once_flag once;
  static xnn_status status = xnn_status_uninitialized;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  if (status != xnn_status_success) return make_error(Reason::kModelError, "XNNPACK does not run on this CPU");
  return ok_status();
}

}  // namespace

XnnNet::XnnNet(XnnNet&&) noexcept = default;
XnnNet& XnnNet::operator=(XnnNet&&) noexcept = default;
XnnNet::~XnnNet() = default;

Result<XnnNet> XnnNet::load(const std::filesystem::path& model_dir, const std::string& onnx_id,
                            const std::vector<std::string>& outputs, int threads) {
  if (auto st = init_xnnpack(); !st) return st.error();
  auto gf = find_model(model_dir, onnx_id);
  if (!gf) return gf.error();
  if (gf->path.extension() != ".onnx")
    return make_error(Reason::kModelError, onnx_id + " (XNNPACK): not an ONNX file (" + gf->path.filename().string() +
                                               "); XNNPACK runs the ONNX files every model is brought to at set-up");
  auto bytes = read_checked_model_file(*gf, 256u << 20);
  if (!bytes) return bytes.error();
  auto graph = std::make_shared<XnnGraph>();
  graph->file = *gf;
  if (xnn_create_subgraph(static_cast<uint32_t>(outputs.size() + 1), 0, &graph->subgraph) != xnn_status_success)
    return make_error(Reason::kModelError, "XNNPACK cannot create a subgraph");
  if (auto st = build_onnx_subgraph(*graph, onnx_id, *bytes, outputs); !st) return st.error();
  XnnNet net;
  net.graph_ = std::move(graph);
  net.threads_ = std::max(1, threads);
  return net.fresh();
}

Result<XnnNet> XnnNet::fresh() const {
  XnnNet n;
  n.graph_ = graph_;
  n.threads_ = threads_;
  n.rt_ = std::make_unique<Runtime>();
  Runtime& rt = *n.rt_;
  if (threads_ > 1) rt.pool = pthreadpool_create(static_cast<std::size_t>(threads_));
  if (xnn_create_runtime_v2(graph_->subgraph, rt.pool, 0, &rt.runtime) != xnn_status_success)
    return make_error(Reason::kModelError, "XNNPACK cannot create a runtime");
  rt.input.assign(graph_->in_h * graph_->in_w * graph_->in_c, 0.f);
  std::vector<xnn_external_value> ext = {{0, rt.input.data()}};
  rt.outputs.resize(graph_->out_sizes.size());
  for (std::size_t k = 0; k < rt.outputs.size(); ++k) {
    rt.outputs[k].assign(graph_->out_sizes[k], 0.f);
    ext.push_back({static_cast<uint32_t>(k + 1), rt.outputs[k].data()});
  }
  if (xnn_setup_runtime(rt.runtime, ext.size(), ext.data()) != xnn_status_success)
    return make_error(Reason::kModelError, "XNNPACK cannot set up a runtime");
  return n;
}

Result<std::vector<cv::Mat>> XnnNet::run(const cv::Mat& bgr, cv::Scalar mean, double scale, bool swap_rb) {
  if (bgr.empty() || bgr.type() != CV_8UC3 || static_cast<std::size_t>(bgr.cols) != graph_->in_w ||
      static_cast<std::size_t>(bgr.rows) != graph_->in_h || graph_->in_c != 3)
    return make_error(Reason::kInternal, "XNNPACK network: input must be " + std::to_string(graph_->in_w) + "x" +
                                             std::to_string(graph_->in_h) + " 8UC3");
  // The same float values make_blob (OpenCV dnn's input) computes, in NHWC: a 256-entry table per
  // channel instead of a double multiply per element.
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = static_cast<float>((static_cast<double>(v) - mean[c]) * scale);
  float* dst = rt_->input.data();
  const int src[3] = {swap_rb ? 2 : 0, 1, swap_rb ? 0 : 2};
  for (int y = 0; y < bgr.rows; ++y) {
    const auto* p = bgr.ptr<cv::Vec3b>(y);
    for (int x = 0; x < bgr.cols; ++x, dst += 3) {
      dst[0] = lut[0][p[x][src[0]]];
      dst[1] = lut[1][p[x][src[1]]];
      dst[2] = lut[2][p[x][src[2]]];
    }
  }
  if (xnn_invoke_runtime(rt_->runtime) != xnn_status_success) return make_error(Reason::kModelError, "XNNPACK failed to run");
  std::vector<cv::Mat> out;
  for (const auto& o : rt_->outputs) out.push_back(cv::Mat(1, static_cast<int>(o.size()), CV_32F, const_cast<float*>(o.data())).clone());
  return out;
}

int XnnNet::input_width() const { return static_cast<int>(graph_->in_w); }
int XnnNet::input_height() const { return static_cast<int>(graph_->in_h); }
const ModelFile& XnnNet::file() const { return graph_->file; }

}  // namespace simkyc

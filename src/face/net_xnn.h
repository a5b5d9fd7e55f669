// src/face/net_xnn.h — internal to the face backends: one ONNX model (a file of the manifest, as
// every model is brought to ONNX at set-up) run by XNNPACK (Debian's libxnnpack), the CPU runtime
// TensorFlow Lite uses.  The graph's nodes are translated one by one into an XNNPACK subgraph
// (net_xnn_onnx.cpp says which); XNNPACK runs it.  Used where OpenCV dnn is too slow for the
// speed targets (docs/inference.md, "Speed").
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/model_manifest.h"
#include "core/result.h"
#include "face/types.h"

namespace simkyc {

struct XnnGraph;   // the translated subgraph and its weights, shared by clones

class XnnNet {
 public:
  // onnx_id: an ONNX model in models/manifest.json, checked against its SHA-256.  outputs: value
  // names of the graph (graph outputs or intermediate values).  threads: XNNPACK worker threads
  // of this instance (1: the caller's thread only).
  // Errors: kModelError when the file is missing, differs from the manifest or is not ONNX, or the
  // graph has a node or shape the translation does not know, named in the detail (never a network
  // that computes something else).
  static Result<XnnNet> load(const std::filesystem::path& model_dir, const std::string& onnx_id,
                             const std::vector<std::string>& outputs, int threads);
  XnnNet(XnnNet&&) noexcept;
  XnnNet& operator=(XnnNet&&) noexcept;
  ~XnnNet();
  // Another instance of the same network (own buffers and threads).  Errors: kModelError.
  Result<XnnNet> fresh() const;

  // Requires: bgr 8UC3 of the network's input size (input_width() x input_height()).
  // The input is per channel (value - mean[c]) * scale, channels in the image's order or swapped
  // (BGR <-> RGB) when swap_rb: the values make_blob gives OpenCV dnn, held NHWC.
  // Ensures: one 1 x N float Mat per output, in ONNX's element order, except that a 4-D image
  // output ([1, C, H, W] with H * W > 1 and C > 1) comes in NHWC order.
  // Errors: kInternal on a wrong image, kModelError when XNNPACK fails.  Not safe for concurrent calls.
  Result<std::vector<cv::Mat>> run(const cv::Mat& bgr, cv::Scalar mean, double scale, bool swap_rb);

  int input_width() const;
  int input_height() const;
  const ModelFile& file() const;   // the ONNX file (id, package, version, SHA-256)

 private:
  XnnNet() = default;
  struct Runtime;
  std::shared_ptr<const XnnGraph> graph_;
  std::unique_ptr<Runtime> rt_;
  int threads_ = 1;
};

}  // namespace simkyc

// src/face/net_xnn.h — internal to the face backends: one TensorFlow.js graph model run by XNNPACK
// (Debian's libxnnpack), the CPU runtime TensorFlow Lite uses.  The graph's ops are translated one
// by one into an XNNPACK subgraph (net_xnn.cpp says which); XNNPACK runs it.  Used where OpenCV
// dnn is too slow for the speed targets (docs/inference.md, "Speed").
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
  // graph_id: a TF.js graph model in models/manifest.json (its weights: graph_id + "_bin"), both
  // checked against their SHA-256.  outputs: node names of the graph.  threads: XNNPACK worker
  // threads of this instance (1: the caller's thread only).
  // Errors: kModelError when a file is missing or differs from the manifest, or the graph has an
  // op or shape the translation does not know (never a network that computes something else).
  static Result<XnnNet> load(const std::filesystem::path& model_dir, const std::string& graph_id,
                             const std::vector<std::string>& outputs, int threads);
  XnnNet(XnnNet&&) noexcept;
  XnnNet& operator=(XnnNet&&) noexcept;
  ~XnnNet();
  // Another instance of the same network (own buffers and threads).  Errors: kModelError.
  Result<XnnNet> fresh() const;

  // Requires: bgr 8UC3 of the network's input size (input_width() x input_height()).
  // The input is per channel (value - mean[c]) * scale, channels in the image's order or swapped
  // (BGR <-> RGB) when swap_rb, in the graph's NHWC layout.
  // Ensures: one 1 x N float Mat per output, in the graph's (TensorFlow's) element order.
  // Errors: kInternal on a wrong image, kModelError when XNNPACK fails.  Not safe for concurrent calls.
  Result<std::vector<cv::Mat>> run(const cv::Mat& bgr, cv::Scalar mean, double scale, bool swap_rb);

  int input_width() const;
  int input_height() const;
  const ModelFile& file() const;   // the graph file (id, package, version, SHA-256)

 private:
  XnnNet() = default;
  struct Runtime;
  std::shared_ptr<const XnnGraph> graph_;
  std::unique_ptr<Runtime> rt_;
  int threads_ = 1;
};

}  // namespace simkyc

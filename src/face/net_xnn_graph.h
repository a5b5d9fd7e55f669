// src/face/net_xnn_graph.h — internal to net_xnn*.cpp: an XNNPACK subgraph translated from a
// ONNX file (net_xnn_onnx.cpp), with the weights it points to; net_xnn.cpp runs it.
#pragma once
#include <xnnpack.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/model_manifest.h"
#include "core/result.h"

namespace simkyc {

struct XnnGraph {
  xnn_subgraph_t subgraph = nullptr;
  std::vector<std::unique_ptr<std::vector<float>>> data;   // static tensors (XNNPACK keeps pointers)
  std::size_t in_h = 0, in_w = 0, in_c = 0;
  std::vector<std::size_t> out_sizes;   // elements per output; external ids 1..n (input: 0)
  ModelFile file;
  XnnGraph() = default;
  XnnGraph(const XnnGraph&) = delete;
  XnnGraph& operator=(const XnnGraph&) = delete;
  ~XnnGraph() {
    if (subgraph) xnn_delete_subgraph(subgraph);
  }
};

// Defines in g.subgraph (already created, outputs.size() + 1 external values) the ONNX model
// `onnx` (the file's bytes) up to the value names `outputs`.  Input: the graph's one [1,C,H,W]
// float input, external id 0, NHWC.  Errors: kModelError naming the node it cannot translate.
Status build_onnx_subgraph(XnnGraph& g, const std::string& id, const std::string& onnx, const std::vector<std::string>& outputs);

}  // namespace simkyc

// src/face/resnet_dlib.h — internal: the dlib ResNet-29 face descriptor network's type, shared by
// the dlib embedder and tools/dlib2onnx (which converts its weights to ONNX).
#pragma once
#include <dlib/dnn.h>

namespace simkyc::dlib_resnet {

// The network layout the published weights were trained with (batch norm in affine form).
template <template <int, template <typename> class, int, typename> class Block, int N,
          template <typename> class BN, typename S>
using residual = dlib::add_prev1<Block<N, BN, 1, dlib::tag1<S>>>;
template <template <int, template <typename> class, int, typename> class Block, int N,
          template <typename> class BN, typename S>
using residual_down = dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<Block<N, BN, 2, dlib::tag1<S>>>>>>;
template <int N, template <typename> class BN, int stride, typename S>
using block = BN<dlib::con<N, 3, 3, 1, 1, dlib::relu<BN<dlib::con<N, 3, 3, stride, stride, S>>>>>;
template <int N, typename S> using ares = dlib::relu<residual<block, N, dlib::affine, S>>;
template <int N, typename S> using ares_down = dlib::relu<residual_down<block, N, dlib::affine, S>>;
template <typename S> using alevel0 = ares_down<256, S>;
template <typename S> using alevel1 = ares<256, ares<256, ares_down<256, S>>>;
template <typename S> using alevel2 = ares<128, ares<128, ares_down<128, S>>>;
template <typename S> using alevel3 = ares<64, ares<64, ares<64, ares_down<64, S>>>>;
template <typename S> using alevel4 = ares<32, ares<32, ares<32, S>>>;
using ResNet = dlib::loss_metric<dlib::fc_no_bias<128, dlib::avg_pool_everything<
    alevel0<alevel1<alevel2<alevel3<alevel4<dlib::max_pool<3, 3, 2, 2, dlib::relu<dlib::affine<
    dlib::con<32, 7, 7, 2, 2, dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;

}  // namespace simkyc::dlib_resnet

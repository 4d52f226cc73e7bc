#include "reward_server/reward_service.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "reward_server/label_book.h"
#include "reward_server/model_trainer.h"

namespace lantern::reward {
namespace {

absl::Status CheckCaption(const std::string& caption, const char* what,
                          int index) {
  if (caption.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, "[", index, "] is empty"));
  }
  if (caption.size() > kMaxCaptionBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, "[", index, "] has ", caption.size(),
                     " bytes; the limit is ", kMaxCaptionBytes));
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* context,
                               const grpc::Status& status) {
  auto* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

absl::StatusOr<std::vector<Query>> QueriesFrom(
    const v1::SubmitCaptionsRequest& request) {
  const int n = request.captions_size() + request.pairs_size();
  if (n > kMaxQueriesPerSubmit) {
    return absl::InvalidArgumentError(absl::StrCat(
        n, " queries in one request; the limit is ", kMaxQueriesPerSubmit));
  }
  std::vector<Query> queries;
  queries.reserve(size_t(n));
  for (int i = 0; i < request.captions_size(); ++i) {
    LANTERN_RETURN_IF_ERROR(CheckCaption(request.captions(i), "captions", i));
    queries.push_back({.first = request.captions(i)});
  }
  for (int i = 0; i < request.pairs_size(); ++i) {
    const v1::CaptionPair& p = request.pairs(i);
    LANTERN_RETURN_IF_ERROR(CheckCaption(p.first(), "pairs.first", i));
    LANTERN_RETURN_IF_ERROR(CheckCaption(p.second(), "pairs.second", i));
    queries.push_back({.first = p.first(), .second = p.second()});
  }
  return queries;
}

RewardService::RewardService(LabelBook* book, ModelTrainer* trainer,
                             common::VersionPublisher* publisher,
                             std::function<v1::RewardStatus()> status)
    : book_(book),
      trainer_(trainer),
      publisher_(publisher),
      status_(std::move(status)) {}

grpc::ServerUnaryReactor* RewardService::SubmitCaptions(
    grpc::CallbackServerContext* context,
    const v1::SubmitCaptionsRequest* request,
    v1::SubmitCaptionsResponse* response) {
  absl::StatusOr<std::vector<Query>> queries = QueriesFrom(*request);
  if (!queries.ok()) {
    rejected_.fetch_add(1);
    return Done(context, common::ToGrpcStatus(queries.status()));
  }
  // Durable before the reply: the learner forgets what was acknowledged.
  absl::StatusOr<LabelBook::Submitted> submitted = book_->Submit(*queries);
  if (!submitted.ok()) {
    return Done(context, common::ToGrpcStatus(submitted.status()));
  }
  response->set_added(uint32_t(submitted->added));
  response->set_known(uint32_t(submitted->known));
  return Done(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::VersionChunk>* RewardService::WatchRewardModel(
    grpc::CallbackServerContext*, const v1::WatchRequest* request) {
  return publisher_->Watch(request->known_version());
}

grpc::ServerUnaryReactor* RewardService::ScoreCaptions(
    grpc::CallbackServerContext* context,
    const v1::ScoreCaptionsRequest* request,
    v1::ScoreCaptionsResponse* response) {
  if (request->captions_size() > kMaxQueriesPerSubmit) {
    rejected_.fetch_add(1);
    return Done(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                      absl::StrCat(request->captions_size(),
                                                   " captions; the limit is ",
                                                   kMaxQueriesPerSubmit)));
  }
  std::vector<std::string> captions(request->captions().begin(),
                                    request->captions().end());
  *response = trainer_->Score(captions);
  for (const std::string& c : captions) {
    std::optional<Label> label = book_->StoredLabel(c);
    response->add_labels(label ? std::string(LabelName(*label)) : "");
  }
  return Done(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* RewardService::GetStatus(
    grpc::CallbackServerContext* context, const v1::RewardStatusRequest*,
    v1::RewardStatus* response) {
  *response = status_();
  response->set_rejected(rejected_.load());
  return Done(context, grpc::Status::OK);
}

}  // namespace lantern::reward

#include "common/event_file.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/crc32c.h"
#include "lantern/v1/tensorboard.pb.h"

namespace lantern::common {
namespace {

void AppendLittleEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(char((v >> (8 * i)) & 0xff));
}

double Now() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventFile>> EventFile::Create(
    const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  const double now = Now();
  const std::string path = dir + "/events.out.tfevents." +
                           std::to_string(int64_t(now)) + "." + host + "." +
                           std::to_string(::getpid());
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::InternalError("cannot create event file " + path + ": " +
                               std::strerror(errno));
  }
  std::unique_ptr<EventFile> file(new EventFile(path, f));
  v1::TensorBoardEvent first;
  first.set_wall_time(now);
  first.set_file_version("brain.Event:2");
  if (absl::Status st = file->WriteRecord(first.SerializeAsString());
      !st.ok()) {
    return st;
  }
  return file;
}

EventFile::~EventFile() { std::fclose(file_); }

absl::Status EventFile::Write(
    double wall_time, int64_t step,
    const std::vector<std::pair<std::string, double>>& scalars) {
  v1::TensorBoardEvent event;
  event.set_wall_time(wall_time);
  event.set_step(step);
  v1::TensorBoardSummary* summary = event.mutable_summary();
  for (const auto& [tag, value] : scalars) {
    v1::TensorBoardSummary::Value* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(float(value));
  }
  return WriteRecord(event.SerializeAsString());
}

absl::Status EventFile::WriteRecord(const std::string& data) {
  std::string record;
  record.reserve(data.size() + 16);
  AppendLittleEndian(data.size(), 8, &record);
  AppendLittleEndian(MaskCrc32c(Crc32c(record)), 4, &record);
  record += data;
  AppendLittleEndian(MaskCrc32c(Crc32c(data)), 4, &record);
  // One fwrite per record and a flush: a reader (TensorBoard, a crash)
  // sees whole records, at worst missing the last one.
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() ||
      std::fflush(file_) != 0) {
    return absl::InternalError("cannot write event file " + path_ + ": " +
                               std::strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace lantern::common

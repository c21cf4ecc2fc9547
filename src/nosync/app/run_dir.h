// A run directory has one owner: the process that holds its lock (run_dir/.nosync.lock, flock(2))
// for the whole run. The kernel releases the lock when the holder dies, so a crash never leaves
// a directory locked; the file names the holder's PID for the refusal of a second process and is
// removed when the holder is done, so a refused or finished command leaves no trace of it.
//
// Who holds it: `nosync train` (also each child of `--max-restarts`: the supervisor holds no lock,
// each child takes it in turn); under mpirun, rank 0, which owns the directory.
#pragma once

#include <memory>
#include <string>

namespace nosync::app {

class RunDirLock {
 public:
  // Takes the lock of existing directory `dir`; another holder is a UserError naming its PID.
  explicit RunDirLock(const std::string& dir);
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

  static constexpr const char* kFileName = ".nosync.lock";

 private:
  std::string path_;
  int fd_ = -1;
};

// What a directory holds, as far as starting a run in it goes.
enum class RunDirKind {
  kAbsent,    // nothing there, or an empty directory
  kFresh,     // a run that has no checkpoint and no summary yet (it died before its first one)
  kRun,       // a run with a checkpoint or a summary
  kForeign,   // files, but no config.toml: not a nosync run
};
RunDirKind inspect_run_dir(const std::string& dir);

// A new run into `dir` (train without --resume), after every other check has passed: creates
// the directory, takes its lock and refuses a directory that holds a run (kRun) or the user's
// own files (kForeign); a kFresh run is started again from nothing (its config.toml and
// metrics.jsonl are replaced). On refusal a directory this call created is removed again.
class NewRunDir {
 public:
  explicit NewRunDir(const std::string& dir);
  ~NewRunDir();
  // Gives up the directory: removes it if this call created it and it is still empty.
  void abandon();

 private:
  std::string dir_;
  bool created_ = false;
  std::unique_ptr<RunDirLock> lock_;
};

}  // namespace nosync::app

#pragma once

#include <functional>
#include <utility>

namespace rag::util {

// Work that must happen exactly once, later: run() does it now, and an owner that
// never called run() does it when destroyed, so moving the task along a path that
// drops it early cannot lose the work. Move-only. The work must not throw.
class DeferredTask
{
public:
  DeferredTask() = default;
  explicit DeferredTask(std::function<void()> work) : m_work(std::move(work)) {}
  ~DeferredTask() { run(); }

  DeferredTask(DeferredTask&& other) noexcept : m_work(std::exchange(other.m_work, nullptr)) {}
  DeferredTask& operator=(DeferredTask&& other) noexcept
  {
    if (this != &other) {
      run();
      m_work = std::exchange(other.m_work, nullptr);
    }
    return *this;
  }
  DeferredTask(const DeferredTask&) = delete;
  DeferredTask& operator=(const DeferredTask&) = delete;

  // Do the work now unless it was done already.
  void run()
  {
    if (std::function<void()> work = std::exchange(m_work, nullptr)) {
      work();
    }
  }

  // True while there is work left to do.
  explicit operator bool() const { return static_cast<bool>(m_work); }

private:
  std::function<void()> m_work;
};

} // namespace rag::util

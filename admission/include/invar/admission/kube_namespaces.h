// SPDX-License-Identifier: Apache-2.0
// NewKubeNamespaceSource: the NamespaceSource over invar::kube's
// ListWatchCache of namespaces (list + watch with bookmarks, relist on 410).
// Built only when the invar_kube library exists (INVAR_ADMISSION_HAS_KUBE).
// Thread-safety as NamespaceSource.
#pragma once

#include <memory>

#include "invar/admission/namespace_source.h"
#include "invar/platform/status.h"

namespace invar::kube {
class KubeClient;
}

namespace invar::admission {

// Starts the cache. `client` must outlive the returned source.
std::shared_ptr<NamespaceSource> NewKubeNamespaceSource(kube::KubeClient& client);

}  // namespace invar::admission

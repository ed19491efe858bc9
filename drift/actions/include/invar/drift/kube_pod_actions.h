// SPDX-License-Identifier: Apache-2.0
// PodActions on the Kubernetes API (invar::kube::KubeClient): merge-patches
// pod annotations, creates events.k8s.io/v1 Events, deletes pods, reads pod
// annotations. Mutations are queued to one worker thread (bounded; dropped and
// logged when full) so the agent's dispatcher never waits on the network;
// PodAnnotations() is a synchronous GET (called on container discovery).
// Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "invar/drift/actions.h"

namespace invar::kube {
class KubeClient;
}

namespace invar::drift {

std::unique_ptr<PodActions> NewKubePodActions(std::unique_ptr<kube::KubeClient> client, std::string node_name,
                                              std::size_t queue_limit = 1000);

}  // namespace invar::drift

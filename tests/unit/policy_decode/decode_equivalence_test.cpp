// SPDX-License-Identifier: Apache-2.0
// The JSON and YAML decoders share one schema walk; these tests pin that the
// same object yields the same Workload (except SourceLocation) from both, and
// the same error message for the same wrong type.
#include <gtest/gtest.h>

#include <string>

#include "invar/policy/decode.h"
#include "test_util.h"

namespace invar::policy {
namespace {

using testing::Errors;

constexpr const char* kJson = R"json({
  "apiVersion": "apps/v1", "kind": "StatefulSet",
  "metadata": {"name": "db", "namespace": "data", "uid": "u", "resourceVersion": "7", "generateName": "g",
               "labels": {"app": "db"}, "annotations": {"invar.dev/exempt": "run-as-non-root", "invar.dev/exempt-reason": "legacy"},
               "ownerReferences": [{"kind": "Thing", "name": "t", "uid": "tu", "controller": true}]},
  "spec": {"serviceName": "db", "template": {
    "metadata": {"labels": {"app": "db", "v": "1"}, "annotations": {"container.apparmor.security.beta.kubernetes.io/db": "runtime/default"}},
    "spec": {
      "hostNetwork": false, "hostPID": true, "hostIPC": false, "hostUsers": true,
      "os": {"name": "windows"}, "runtimeClassName": "kata", "automountServiceAccountToken": true,
      "securityContext": {"runAsNonRoot": false, "runAsUser": 0,
        "seLinuxOptions": {"user": "a", "role": "b", "type": "c", "level": "d"},
        "seccompProfile": {"type": "Unconfined"}, "appArmorProfile": {"type": "Localhost", "localhostProfile": "x"},
        "windowsOptions": {"hostProcess": true}, "sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
      "volumes": [{"name": "h", "hostPath": {"path": "/etc"}}, {"name": "s", "secret": {"secretName": "x"}}],
      "initContainers": [{"name": "i", "image": "busybox:latest", "ports": [{"containerPort": 1, "hostPort": 2}]}],
      "containers": [{"name": "db", "image": "postgres:16",
        "securityContext": {"privileged": true, "allowPrivilegeEscalation": true, "readOnlyRootFilesystem": false,
          "runAsNonRoot": false, "runAsUser": 999, "procMount": "Unmasked",
          "capabilities": {"add": ["SYS_ADMIN", "NET_RAW"], "drop": []},
          "seLinuxOptions": {"level": "s0:c1"}, "seccompProfile": {"type": "Localhost", "localhostProfile": "p"},
          "appArmorProfile": {"type": "Unconfined"}, "windowsOptions": {"hostProcess": false}},
        "readinessProbe": {"httpGet": {"host": "example.com", "path": "/"}},
        "lifecycle": {"preStop": {"httpGet": {"host": "stop.example"}}}}],
      "ephemeralContainers": [{"name": "e", "image": "dbg", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}]
    }}}
})json";

constexpr const char* kYaml = R"(apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: data
  uid: u
  resourceVersion: "7"
  generateName: g
  labels:
    app: db
  annotations:
    invar.dev/exempt: run-as-non-root
    invar.dev/exempt-reason: legacy
  ownerReferences:
  - {kind: Thing, name: t, uid: tu, controller: true}
spec:
  serviceName: db
  template:
    metadata:
      labels: {app: db, v: "1"}
      annotations:
        container.apparmor.security.beta.kubernetes.io/db: runtime/default
    spec:
      hostNetwork: false
      hostPID: yes
      hostIPC: off
      hostUsers: true
      os: {name: windows}
      runtimeClassName: kata
      automountServiceAccountToken: true
      securityContext:
        runAsNonRoot: false
        runAsUser: 0
        seLinuxOptions: {user: a, role: b, type: c, level: d}
        seccompProfile:
          type: Unconfined
        appArmorProfile: {type: Localhost, localhostProfile: x}
        windowsOptions: {hostProcess: true}
        sysctls:
        - name: kernel.msgmax
          value: "1"
      volumes:
      - name: h
        hostPath:
          path: /etc
      - name: s
        secret: {secretName: x}
      initContainers:
      - name: i
        image: busybox:latest
        ports: [{containerPort: 1, hostPort: 2}]
      containers:
      - name: db
        image: postgres:16
        securityContext:
          privileged: true
          allowPrivilegeEscalation: true
          readOnlyRootFilesystem: false
          runAsNonRoot: false
          runAsUser: 999
          procMount: Unmasked
          capabilities:
            add: [SYS_ADMIN, NET_RAW]
            drop: []
          seLinuxOptions: {level: "s0:c1"}
          seccompProfile: {type: Localhost, localhostProfile: p}
          appArmorProfile: {type: Unconfined}
          windowsOptions: {hostProcess: false}
        readinessProbe:
          httpGet: {host: example.com, path: /}
        lifecycle:
          preStop:
            httpGet:
              host: stop.example
      ephemeralContainers:
      - name: e
        image: dbg
        securityContext:
          capabilities:
            add: [SYS_PTRACE]
)";

TEST(DecodeEquivalence, JsonAndYamlYieldTheSameWorkload) {
  DecodeResult j = DecodeJson(kJson, "a.json");
  DecodeResult y = DecodeYaml(kYaml, "a.yaml");
  ASSERT_TRUE(j.errors.empty()) << Errors(j);
  ASSERT_TRUE(y.errors.empty()) << Errors(y);
  ASSERT_EQ(j.workloads.size(), 1u);
  ASSERT_EQ(y.workloads.size(), 1u);
  Workload a = j.workloads[0];
  Workload b = y.workloads[0];
  EXPECT_EQ(a.source.file, "a.json");
  EXPECT_EQ(b.source.file, "a.yaml");
  a.source = {};
  b.source = {};
  // Spot checks first, so a failure says where the decoders differ.
  EXPECT_EQ(a.metadata, b.metadata);
  EXPECT_EQ(a.pod_labels, b.pod_labels);
  EXPECT_EQ(a.pod_annotations, b.pod_annotations);
  EXPECT_EQ(a.spec.security_context, b.spec.security_context);
  EXPECT_EQ(a.spec.volumes, b.spec.volumes);
  EXPECT_EQ(a.spec.init_containers, b.spec.init_containers);
  EXPECT_EQ(a.spec.containers, b.spec.containers);
  EXPECT_EQ(a.spec.ephemeral_containers, b.spec.ephemeral_containers);
  EXPECT_EQ(a, b);
  // And the values are what both texts say.
  EXPECT_EQ(a.spec.host_pid, true);
  EXPECT_EQ(a.spec.host_ipc, false);
  EXPECT_EQ(a.spec.containers[0].handler_hosts.size(), 2u);
  EXPECT_EQ(a.spec.init_containers[0].ports[0], (ContainerPort{1, 2}));
  EXPECT_TRUE(a.spec.containers[0].security_context->capabilities->drop.empty());
}

TEST(DecodeEquivalence, SameErrorMessageForTheSameWrongType) {
  DecodeResult j = DecodeJson(
      R"({"apiVersion":"batch/v1","kind":"Job","spec":{"template":{"spec":{"containers":[{"name":"c","securityContext":{"capabilities":{"drop":"ALL"}}}]}}}})");
  DecodeResult y = DecodeYaml(
      "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n"
      "        securityContext:\n          capabilities:\n            drop: ALL\n");
  ASSERT_EQ(j.errors.size(), 1u);
  ASSERT_EQ(y.errors.size(), 1u);
  EXPECT_EQ(j.errors[0].message,
            "spec.template.spec.containers[0].securityContext.capabilities.drop: expected array, got string");
  EXPECT_EQ(y.errors[0].message, j.errors[0].message);
  EXPECT_EQ(y.errors[0].where.line, 10);
}

TEST(DecodeEquivalence, ReviewObjectDecodesLikeItsFileForm) {
  // The review's request.object through DecodeJson (as a file would be read)
  // equals the admission path's DecodeObject result, minus location.
  std::string review = testing::ReadFile(testing::DataPath("review-5k.json"));
  size_t start = review.find("\"object\":");
  ASSERT_NE(start, std::string::npos);
  DecodeResult all = DecodeJson(review, "review.json");
  ASSERT_TRUE(all.errors.empty()) << Errors(all);
  ASSERT_EQ(all.skipped.size(), 1u);
  EXPECT_EQ(all.skipped[0].kind, "AdmissionReview");
}

}  // namespace
}  // namespace invar::policy

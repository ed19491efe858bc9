// SPDX-License-Identifier: Apache-2.0
// JSON decoder: every field of the model, every kind, Lists, arrays, NDJSON,
// error paths and messages, and the admission entry point DecodeObject().
#include <gtest/gtest.h>

#include <string>

#include "invar/policy/decode.h"
#include "invar/policy/json_object.h"
#include "test_util.h"

namespace invar::policy {
namespace {

using testing::Errors;

constexpr const char* kRichPod = R"json({
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {
    "name": "rich", "generateName": "rich-", "namespace": "team-a", "uid": "u-1", "resourceVersion": "42",
    "labels": {"app": "web", "tier": "front"},
    "annotations": {"invar.dev/exempt": "image-digest", "note": ""},
    "ownerReferences": [
      {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "u-n"},
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-rs", "controller": true},
      {"kind": "Other", "name": "late", "uid": "u-late", "controller": true}
    ],
    "managedFields": [{"manager": "x", "fieldsV1": {"f:spec": {"f:containers": {}}}}]
  },
  "spec": {
    "hostNetwork": true, "hostPID": false, "hostIPC": true, "hostUsers": false,
    "os": {"name": "linux"},
    "runtimeClassName": "gvisor",
    "automountServiceAccountToken": false,
    "securityContext": {
      "runAsNonRoot": true, "runAsUser": 1000,
      "seLinuxOptions": {"user": "u", "role": "r", "type": "container_t", "level": "s0"},
      "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"},
      "appArmorProfile": {"type": "RuntimeDefault"},
      "windowsOptions": {"hostProcess": false},
      "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"}, {"name": "kernel.shm_rmid_forced", "value": "1"}],
      "fsGroup": 2000
    },
    "volumes": [
      {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
      {"name": "tmp", "emptyDir": {}},
      {"name": "defaulted"},
      {"name": "cfg", "configMap": {"name": "c"}}
    ],
    "initContainers": [{"name": "init", "image": "busybox:1.36", "securityContext": {"readOnlyRootFilesystem": false}}],
    "containers": [{
      "name": "app",
      "image": "reg.example/app@sha256:0123",
      "command": ["/app"],
      "ports": [{"containerPort": 8080, "hostPort": 80, "protocol": "TCP"}, {"containerPort": 9090}],
      "securityContext": {
        "privileged": false, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
        "runAsNonRoot": true, "runAsUser": 65534, "procMount": "Default",
        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
        "seLinuxOptions": {"type": "spc_t"},
        "seccompProfile": {"type": "RuntimeDefault"},
        "appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-apparmor"},
        "windowsOptions": {"hostProcess": true}
      },
      "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}},
      "readinessProbe": {"tcpSocket": {"host": "", "port": 80}},
      "startupProbe": {"tcpSocket": {"host": "db", "port": 5432}, "exec": {"command": ["x"]}},
      "lifecycle": {"postStart": {"httpGet": {"host": "h1"}}, "preStop": {"tcpSocket": {"host": "h2"}}}
    }],
    "ephemeralContainers": [{"name": "debug", "image": "busybox", "targetContainerName": "app"}]
  },
  "status": {"phase": "Running"}
})json";

TEST(DecodeJson, ReadsEveryModelFieldOfAPod) {
  DecodeResult r = DecodeJson(kRichPod, "pod.json");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 1u);
  const Workload& w = r.workloads[0];
  EXPECT_EQ(w.api_version, "v1");
  EXPECT_EQ(w.kind, "Pod");
  EXPECT_EQ(w.spec_path, "spec");
  EXPECT_EQ(w.pod_metadata_path, "metadata");
  EXPECT_EQ(w.source.file, "pod.json");
  EXPECT_EQ(w.source.line, 1);
  EXPECT_EQ(w.source.document, 0);
  EXPECT_EQ(w.source.item, "");

  const ObjectMeta& m = w.metadata;
  EXPECT_EQ(m.name, "rich");
  EXPECT_EQ(m.generate_name, "rich-");
  EXPECT_EQ(m.namespace_, "team-a");
  EXPECT_EQ(m.uid, "u-1");
  EXPECT_EQ(m.resource_version, "42");
  ASSERT_EQ(m.labels.size(), 2u);
  EXPECT_EQ(*m.labels.Find("app"), "web");
  EXPECT_EQ(*m.labels.Find("tier"), "front");
  EXPECT_EQ(*m.annotations.Find("invar.dev/exempt"), "image-digest");
  EXPECT_EQ(*m.annotations.Find("note"), "");
  EXPECT_EQ(m.owner_kind, "ReplicaSet");  // the first controller reference
  EXPECT_EQ(m.owner_name, "rs");
  EXPECT_EQ(m.owner_uid, "u-rs");
  EXPECT_EQ(w.pod_labels, m.labels);  // a Pod is its own template
  EXPECT_EQ(w.pod_annotations, m.annotations);

  const PodSpec& s = w.spec;
  EXPECT_EQ(s.host_network, true);
  EXPECT_EQ(s.host_pid, false);
  EXPECT_EQ(s.host_ipc, true);
  EXPECT_EQ(s.host_users, false);
  EXPECT_EQ(s.os_name, "linux");
  EXPECT_EQ(s.runtime_class_name, "gvisor");
  EXPECT_EQ(s.automount_service_account_token, false);
  ASSERT_TRUE(s.security_context.has_value());
  const PodSecurityContext& psc = *s.security_context;
  EXPECT_EQ(psc.run_as_non_root, true);
  EXPECT_EQ(psc.run_as_user, 1000);
  EXPECT_EQ(psc.se_linux_options, (SELinuxOptions{"u", "r", "container_t", "s0"}));
  EXPECT_EQ(psc.seccomp_profile, (SeccompProfile{"Localhost", "p.json"}));
  EXPECT_EQ(psc.app_armor_profile, (AppArmorProfile{"RuntimeDefault", ""}));
  ASSERT_TRUE(psc.windows_options.has_value());
  EXPECT_EQ(psc.windows_options->host_process, false);
  EXPECT_EQ(psc.sysctls, (std::vector<std::string>{"net.ipv4.ip_local_port_range", "kernel.shm_rmid_forced"}));

  ASSERT_EQ(s.volumes.size(), 4u);
  EXPECT_EQ(s.volumes[0], (Volume{"host", "hostPath", "/var/log"}));
  EXPECT_EQ(s.volumes[1], (Volume{"tmp", "emptyDir", ""}));
  EXPECT_EQ(s.volumes[2], (Volume{"defaulted", "", ""}));
  EXPECT_EQ(s.volumes[3], (Volume{"cfg", "configMap", ""}));

  ASSERT_EQ(s.init_containers.size(), 1u);
  EXPECT_EQ(s.init_containers[0].kind, ContainerKind::kInit);
  EXPECT_EQ(s.init_containers[0].name, "init");
  EXPECT_EQ(s.init_containers[0].image, "busybox:1.36");
  EXPECT_EQ(s.init_containers[0].security_context->read_only_root_filesystem, false);

  ASSERT_EQ(s.containers.size(), 1u);
  const Container& c = s.containers[0];
  EXPECT_EQ(c.kind, ContainerKind::kRegular);
  EXPECT_EQ(c.index, 0);
  EXPECT_EQ(c.name, "app");
  EXPECT_EQ(c.image, "reg.example/app@sha256:0123");
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0], (ContainerPort{8080, 80}));
  EXPECT_EQ(c.ports[1], (ContainerPort{9090, std::nullopt}));
  ASSERT_TRUE(c.security_context.has_value());
  const SecurityContext& sc = *c.security_context;
  EXPECT_EQ(sc.privileged, false);
  EXPECT_EQ(sc.allow_privilege_escalation, false);
  EXPECT_EQ(sc.read_only_root_filesystem, true);
  EXPECT_EQ(sc.run_as_non_root, true);
  EXPECT_EQ(sc.run_as_user, 65534);
  EXPECT_EQ(sc.proc_mount, "Default");
  EXPECT_EQ(sc.capabilities, (Capabilities{{"NET_BIND_SERVICE"}, {"ALL"}}));
  EXPECT_EQ(sc.se_linux_options, (SELinuxOptions{"", "", "spc_t", ""}));
  EXPECT_EQ(sc.seccomp_profile, (SeccompProfile{"RuntimeDefault", ""}));
  EXPECT_EQ(sc.app_armor_profile, (AppArmorProfile{"Localhost", "k8s-apparmor"}));
  EXPECT_EQ(sc.windows_options->host_process, true);
  EXPECT_EQ(c.handler_hosts, (std::vector<HandlerHost>{{"livenessProbe.httpGet.host", "10.0.0.1"},
                                                       {"startupProbe.tcpSocket.host", "db"},
                                                       {"lifecycle.postStart.httpGet.host", "h1"},
                                                       {"lifecycle.preStop.tcpSocket.host", "h2"}}));

  ASSERT_EQ(s.ephemeral_containers.size(), 1u);
  EXPECT_EQ(s.ephemeral_containers[0].kind, ContainerKind::kEphemeral);
  EXPECT_EQ(s.ephemeral_containers[0].name, "debug");
  EXPECT_FALSE(s.ephemeral_containers[0].security_context.has_value());
}

TEST(DecodeJson, LeavesAbsentFieldsUnset) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
      "spec":{"containers":[{"name":"c","image":"i","securityContext":{}}]}})");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 1u);
  const PodSpec& s = r.workloads[0].spec;
  EXPECT_FALSE(s.host_network.has_value());
  EXPECT_FALSE(s.host_users.has_value());
  EXPECT_FALSE(s.security_context.has_value());
  ASSERT_TRUE(s.containers[0].security_context.has_value());
  EXPECT_FALSE(s.containers[0].security_context->privileged.has_value());
  EXPECT_FALSE(s.containers[0].security_context->run_as_user.has_value());
  EXPECT_FALSE(s.containers[0].security_context->capabilities.has_value());
}

TEST(DecodeJson, TreatsNullAsUnset) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":null},
      "spec":{"hostNetwork":null,"securityContext":null,"volumes":null,"initContainers":null,
      "containers":[{"name":"c","image":null,"securityContext":{"privileged":null,"runAsUser":null,
      "capabilities":null,"seccompProfile":null}}]}})");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 1u);
  const PodSpec& s = r.workloads[0].spec;
  EXPECT_FALSE(s.host_network.has_value());
  EXPECT_FALSE(s.security_context.has_value());
  EXPECT_TRUE(s.volumes.empty());
  EXPECT_TRUE(s.init_containers.empty());
  EXPECT_EQ(s.containers[0].image, "");
  const SecurityContext& sc = *s.containers[0].security_context;
  EXPECT_FALSE(sc.privileged.has_value());
  EXPECT_FALSE(sc.run_as_user.has_value());
  EXPECT_FALSE(sc.capabilities.has_value());
  EXPECT_FALSE(sc.seccomp_profile.has_value());
}

struct KindCase {
  const char* api_version;
  const char* kind;
  const char* json_prefix;  // opens the objects down to the pod template
  const char* json_suffix;
  const char* spec_path;
  const char* pod_metadata_path;
};

class DecodeJsonKinds : public ::testing::TestWithParam<KindCase> {};

TEST_P(DecodeJsonKinds, FindsThePodTemplate) {
  const KindCase& k = GetParam();
  std::string tmpl = R"("metadata":{"labels":{"pod":"yes"},"annotations":{"a":"b"}},
      "spec":{"hostPID":true,"containers":[{"name":"c1","image":"img"}]})";
  std::string json = std::string(R"({"apiVersion":")") + k.api_version + R"(","kind":")" + k.kind +
                     R"(","metadata":{"name":"obj","namespace":"ns","labels":{"top":"1"}},)" + k.json_prefix + tmpl +
                     k.json_suffix + "}";
  DecodeResult r = DecodeJson(json);
  ASSERT_TRUE(r.errors.empty()) << Errors(r) << json;
  ASSERT_EQ(r.workloads.size(), 1u) << json;
  const Workload& w = r.workloads[0];
  EXPECT_EQ(w.kind, k.kind);
  EXPECT_EQ(w.api_version, k.api_version);
  EXPECT_EQ(w.metadata.name, "obj");
  EXPECT_EQ(w.metadata.namespace_, "ns");
  EXPECT_EQ(*w.metadata.labels.Find("top"), "1");
  EXPECT_EQ(w.spec_path, k.spec_path);
  EXPECT_EQ(w.pod_metadata_path, k.pod_metadata_path);
  EXPECT_EQ(w.spec.host_pid, true);
  ASSERT_EQ(w.spec.containers.size(), 1u);
  EXPECT_EQ(w.spec.containers[0].name, "c1");
  if (std::string(k.kind) == "Pod") {
    EXPECT_EQ(w.pod_labels, w.metadata.labels);
  } else {
    EXPECT_EQ(*w.pod_labels.Find("pod"), "yes");
    EXPECT_EQ(*w.pod_annotations.Find("a"), "b");
    EXPECT_EQ(w.pod_labels.Find("top"), nullptr);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, DecodeJsonKinds,
    ::testing::Values(
        KindCase{"v1", "PodTemplate", R"("template":{)", "}", "template.spec", "template.metadata"},
        KindCase{"v1", "ReplicationController", R"("spec":{"replicas":2,"template":{)", "}}", "spec.template.spec",
                 "spec.template.metadata"},
        KindCase{"apps/v1", "ReplicaSet", R"("spec":{"template":{)", "}}", "spec.template.spec", "spec.template.metadata"},
        KindCase{"apps/v1", "Deployment", R"("spec":{"selector":{},"template":{)", "}}", "spec.template.spec",
                 "spec.template.metadata"},
        KindCase{"apps/v1", "StatefulSet", R"("spec":{"template":{)", "}}", "spec.template.spec",
                 "spec.template.metadata"},
        KindCase{"apps/v1", "DaemonSet", R"("spec":{"template":{)", "}}", "spec.template.spec", "spec.template.metadata"},
        KindCase{"extensions/v1beta1", "DaemonSet", R"("spec":{"template":{)", "}}", "spec.template.spec",
                 "spec.template.metadata"},
        KindCase{"batch/v1", "Job", R"("spec":{"backoffLimit":1,"template":{)", "}}", "spec.template.spec",
                 "spec.template.metadata"},
        KindCase{"batch/v1", "CronJob", R"("spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{)", "}}}}",
                 "spec.jobTemplate.spec.template.spec", "spec.jobTemplate.spec.template.metadata"}),
    [](const ::testing::TestParamInfo<KindCase>& p) {
      return std::string(p.param.kind) + (std::string(p.param.api_version).find("extensions") == 0 ? "Ext" : "");
    });

TEST(DecodeJson, ReadsAPod) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"x":"y"}},
      "spec":{"containers":[{"name":"c","image":"i"}]}})");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 1u);
  EXPECT_EQ(r.workloads[0].spec_path, "spec");
  EXPECT_EQ(*r.workloads[0].pod_labels.Find("x"), "y");
}

TEST(DecodeJson, SkipsKindsWithoutPodSpecByName) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"ns"},
      "data":{"spec":"x"}})", "cm.json");
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_TRUE(r.workloads.empty());
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].kind, "ConfigMap");
  EXPECT_EQ(r.skipped[0].api_version, "v1");
  EXPECT_EQ(r.skipped[0].name, "cm");
  EXPECT_EQ(r.skipped[0].namespace_, "ns");
  EXPECT_EQ(r.skipped[0].where.file, "cm.json");
  EXPECT_EQ(r.skipped[0].where.line, 1);
}

TEST(DecodeJson, SkipsCustomResourcesThatShareABuiltinKindName) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"batch.volcano.sh/v1alpha1","kind":"Job","metadata":{"name":"vj"},
      "spec":{"tasks":[]}})");
  EXPECT_TRUE(r.errors.empty()) << Errors(r);
  EXPECT_TRUE(r.workloads.empty());
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].api_version, "batch.volcano.sh/v1alpha1");
}

TEST(DecodeJson, ReportsAnObjectWithoutKind) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","metadata":{"name":"x"}})", "f.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "kind: missing (not a Kubernetes object)");
  EXPECT_EQ(r.errors[0].where.file, "f.json");
}

TEST(DecodeJson, ReadsKindThatFollowsTheSpec) {
  DecodeResult r = DecodeJson(R"({"spec":{"template":{"metadata":{"labels":{"a":"b"}},
      "spec":{"containers":[{"name":"late","image":"i"}]}}},"metadata":{"name":"d"},"kind":"Deployment",
      "apiVersion":"apps/v1"})");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 1u);
  EXPECT_EQ(r.workloads[0].metadata.name, "d");
  EXPECT_EQ(r.workloads[0].spec.containers.at(0).name, "late");
  EXPECT_EQ(*r.workloads[0].pod_labels.Find("a"), "b");
}

TEST(DecodeJson, FlattensListsWithItemLocations) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","kind":"List","metadata":{},"items":[
  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"i"}]}},
  {"apiVersion":"v1","kind":"Service","metadata":{"name":"svc"}},
  {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":{"spec":{"containers":[]}}}}
]})", "list.json");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 2u);
  EXPECT_EQ(r.workloads[0].metadata.name, "a");
  EXPECT_EQ(r.workloads[0].source.item, "items[0]");
  EXPECT_EQ(r.workloads[0].source.line, 2);
  EXPECT_EQ(r.workloads[1].metadata.name, "d");
  EXPECT_EQ(r.workloads[1].source.item, "items[2]");
  EXPECT_EQ(r.workloads[1].source.line, 4);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].where.item, "items[1]");
  EXPECT_EQ(r.skipped[0].kind, "Service");
}

TEST(DecodeJson, FlattensTypedListsAndItemsBeforeKind) {
  DecodeResult r = DecodeJson(R"({"items":[{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"ds"},
      "spec":{"template":{"spec":{"hostNetwork":true}}}}],"kind":"DaemonSetList","apiVersion":"apps/v1"})");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 1u);
  EXPECT_EQ(r.workloads[0].kind, "DaemonSet");
  EXPECT_EQ(r.workloads[0].source.item, "items[0]");
  EXPECT_EQ(r.workloads[0].spec.host_network, true);
}

TEST(DecodeJson, KeepsDecodingListItemsAfterABadItem) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","kind":"List","items":[
  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"ok1"},"spec":{}},
  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad"},"spec":{"hostPID":"true","containers":[{"name":"x"}]}},
  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"ok2"},"spec":{}}
]})");
  ASSERT_EQ(r.errors.size(), 1u) << Errors(r);
  EXPECT_EQ(r.errors[0].message, "items[1]: spec.hostPID: expected boolean, got string");
  EXPECT_EQ(r.errors[0].where.item, "items[1]");
  EXPECT_EQ(r.errors[0].where.line, 3);
  ASSERT_EQ(r.workloads.size(), 2u);
  EXPECT_EQ(r.workloads[0].metadata.name, "ok1");
  EXPECT_EQ(r.workloads[1].metadata.name, "ok2");
}

TEST(DecodeJson, ReadsTopLevelArraysAndConcatenatedValues) {
  DecodeResult r = DecodeJson(
      "[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a0\"}},\n"
      " {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a1\"}}]\n"
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"n1\"}}\n"
      "null\n"
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"n2\"}}{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
      "\"metadata\":{\"name\":\"n3\"}}\n",
      "stream.json");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 5u);
  EXPECT_EQ(r.workloads[0].metadata.name, "a0");
  EXPECT_EQ(r.workloads[0].source.item, "[0]");
  EXPECT_EQ(r.workloads[1].source.item, "[1]");
  EXPECT_EQ(r.workloads[1].source.line, 2);
  EXPECT_EQ(r.workloads[2].metadata.name, "n1");
  EXPECT_EQ(r.workloads[2].source.document, 1);
  EXPECT_EQ(r.workloads[2].source.line, 3);
  EXPECT_EQ(r.workloads[3].metadata.name, "n2");
  EXPECT_EQ(r.workloads[3].source.document, 3);
  EXPECT_EQ(r.workloads[3].source.line, 5);
  EXPECT_EQ(r.workloads[4].metadata.name, "n3");
  EXPECT_EQ(r.workloads[4].source.document, 4);
}

TEST(DecodeJson, ReportsAMalformedValueAndDecodesTheNextOne) {
  DecodeResult r = DecodeJson(
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n"
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\": nope}}\n"
      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"c\"}}\n",
      "nd.json");
  ASSERT_EQ(r.errors.size(), 1u) << Errors(r);
  EXPECT_EQ(r.errors[0].where.line, 2);
  EXPECT_EQ(r.errors[0].where.file, "nd.json");
  EXPECT_NE(r.errors[0].message.find("metadata.name: invalid JSON"), std::string::npos) << r.errors[0].message;
  ASSERT_EQ(r.workloads.size(), 2u);
  EXPECT_EQ(r.workloads[1].metadata.name, "c");
}

struct TypeErrorCase {
  const char* spec;
  const char* message;
};

class DecodeJsonTypeErrors : public ::testing::TestWithParam<TypeErrorCase> {};

TEST_P(DecodeJsonTypeErrors, NamesPathAndType) {
  std::string json = std::string(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":)") +
                     GetParam().spec + "}";
  DecodeResult r = DecodeJson(json, "t.json");
  EXPECT_TRUE(r.workloads.empty());
  ASSERT_EQ(r.errors.size(), 1u) << json;
  EXPECT_EQ(r.errors[0].message, GetParam().message);
  EXPECT_EQ(r.errors[0].where.file, "t.json");
  EXPECT_EQ(r.errors[0].where.line, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, DecodeJsonTypeErrors,
    ::testing::Values(
        TypeErrorCase{R"({"containers":[{"name":"c","securityContext":{"privileged":"yes"}}]})",
                      "spec.containers[0].securityContext.privileged: expected boolean, got string"},
        TypeErrorCase{R"({"initContainers":[{},{"securityContext":{"runAsUser":1.5}}]})",
                      "spec.initContainers[1].securityContext.runAsUser: expected integer, got number"},
        TypeErrorCase{R"({"securityContext":{"runAsUser":"1000"}})",
                      "spec.securityContext.runAsUser: expected integer, got string"},
        TypeErrorCase{R"({"securityContext":{"runAsUser":99999999999999999999}})",
                      "spec.securityContext.runAsUser: integer out of range for int64"},
        TypeErrorCase{R"({"containers":[{"ports":[{"containerPort":4294967296}]}]})",
                      "spec.containers[0].ports[0].containerPort: integer 4294967296 out of range for int32"},
        TypeErrorCase{R"({"containers":[{"ports":[{"hostPort":true}]}]})",
                      "spec.containers[0].ports[0].hostPort: expected integer, got boolean"},
        TypeErrorCase{R"({"containers":{"name":"c"}})", "spec.containers: expected array, got object"},
        TypeErrorCase{R"("oops")", "spec: expected object, got string"},
        TypeErrorCase{R"({"containers":[{"image":["a"]}]})", "spec.containers[0].image: expected string, got array"},
        TypeErrorCase{R"({"ephemeralContainers":[{"securityContext":{"capabilities":{"add":[1]}}}]})",
                      "spec.ephemeralContainers[0].securityContext.capabilities.add[0]: expected string, got number"},
        TypeErrorCase{R"({"volumes":[{"name":"h","hostPath":{"path":7}}]})",
                      "spec.volumes[0].hostPath.path: expected string, got number"},
        TypeErrorCase{R"({"securityContext":{"sysctls":[{"name":false}]}})",
                      "spec.securityContext.sysctls[0].name: expected string, got boolean"},
        TypeErrorCase{R"({"os":{"name":1}})", "spec.os.name: expected string, got number"},
        TypeErrorCase{R"({"hostUsers":0})", "spec.hostUsers: expected boolean, got number"},
        TypeErrorCase{R"({"containers":[{"livenessProbe":{"httpGet":{"host":{}}}}]})",
                      "spec.containers[0].livenessProbe.httpGet.host: expected string, got object"},
        TypeErrorCase{R"({"containers":[{"lifecycle":{"preStop":{"tcpSocket":{"host":[]}}}}]})",
                      "spec.containers[0].lifecycle.preStop.tcpSocket.host: expected string, got array"},
        TypeErrorCase{R"({"securityContext":{"seccompProfile":{"type":true}}})",
                      "spec.securityContext.seccompProfile.type: expected string, got boolean"},
        TypeErrorCase{R"({"securityContext":{"windowsOptions":{"hostProcess":"true"}}})",
                      "spec.securityContext.windowsOptions.hostProcess: expected boolean, got string"}));

TEST(DecodeJson, ReportsWrongTypesInMetadata) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"v":1.0}}})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "metadata.labels: value of \"v\": expected string, got number");
  r = DecodeJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"ownerReferences":[{"controller":"true"}]}})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "metadata.ownerReferences[0].controller: expected boolean, got string");
  r = DecodeJson(R"({"apiVersion":"v1","kind":5})");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "kind: expected string, got number");
}

TEST(DecodeJson, UnescapesKeysAndStrings) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","\u006bind":"Pod","metadata":{"name":"caf\u00e9"},
      "spec":{"containers":[{"name":"a\"b","image":"x"}]}})");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads.size(), 1u);
  EXPECT_EQ(r.workloads[0].metadata.name, "caf\xC3\xA9");
  EXPECT_EQ(r.workloads[0].spec.containers[0].name, "a\"b");
}

TEST(DecodeJson, LastDuplicateKeyWins) {
  DecodeResult r = DecodeJson(R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"a"},{"name":"b"}],
      "containers":[{"name":"c"}]}})");
  ASSERT_TRUE(r.errors.empty()) << Errors(r);
  ASSERT_EQ(r.workloads[0].spec.containers.size(), 1u);
  EXPECT_EQ(r.workloads[0].spec.containers[0].name, "c");
}

// ---- DecodeObject: the admission entry point --------------------------------

Result<Workload> DecodeOne(const std::string& json) {
  static simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return Status::InvalidArgument("iterate");
  simdjson::ondemand::value v;
  if (doc.get_value().get(v)) return Status::InvalidArgument("get_value");
  return DecodeObject(v);
}

TEST(DecodeObject, DecodesTheReviewObject) {
  std::string review = testing::ReadFile(testing::DataPath("review-5k.json"));
  ASSERT_GT(review.size(), 4000u);
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(review);
  simdjson::ondemand::document doc = parser.iterate(padded);
  simdjson::ondemand::value object = doc["request"]["object"];
  Result<Workload> w = DecodeObject(object);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->kind, "Pod");
  EXPECT_EQ(w->metadata.name, "web-7d9c8b6f5-x2x9z");
  EXPECT_EQ(w->metadata.namespace_, "shop");
  EXPECT_EQ(w->metadata.owner_kind, "ReplicaSet");
  EXPECT_EQ(w->metadata.owner_name, "web-7d9c8b6f5");
  EXPECT_EQ(w->spec.security_context->run_as_non_root, true);
  EXPECT_EQ(w->spec.security_context->seccomp_profile->type, "RuntimeDefault");
  ASSERT_EQ(w->spec.containers.size(), 2u);
  EXPECT_EQ(w->spec.containers[0].name, "web");
  EXPECT_EQ(w->spec.containers[0].security_context->read_only_root_filesystem, true);
  EXPECT_EQ(w->spec.containers[0].security_context->capabilities->drop, std::vector<std::string>{"ALL"});
  EXPECT_EQ(w->spec.containers[0].ports.at(0).container_port, 8080);
  EXPECT_EQ(w->spec.containers[1].name, "sidecar");
  EXPECT_EQ(w->spec.containers[1].image, "registry.example.com/tools/proxy:1.4.2");
  EXPECT_FALSE(w->spec.containers[1].security_context.has_value());
  ASSERT_EQ(w->spec.volumes.size(), 2u);
  EXPECT_EQ(w->spec.volumes[1].source, "projected");
  EXPECT_EQ(w->source, SourceLocation{});
}

TEST(DecodeObject, ReturnsNotFoundForKindsWithoutPodSpec) {
  Result<Workload> w = DecodeOne(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}})");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Status::Code::kNotFound);
  w = DecodeOne(R"({"apiVersion":"v1","kind":"List","items":[]})");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Status::Code::kNotFound);
}

TEST(DecodeObject, ReturnsInvalidArgumentWithPathForWrongTypes) {
  Result<Workload> w = DecodeOne(
      R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"securityContext":{"privileged":"yes"}}]}})");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(w.status().message(), "spec.containers[0].securityContext.privileged: expected boolean, got string");
  w = DecodeOne(R"([1,2])");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), "expected object, got array");
  w = DecodeOne(R"({"apiVersion":"v1"})");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), "kind: missing");
}

TEST(DecodeObject, EnforcesMaxDepthOnTheSchemaWalk) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(std::string(
      R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"securityContext":{"capabilities":{"add":["X"]}}}]}})"));
  simdjson::ondemand::document doc = parser.iterate(padded);
  simdjson::ondemand::value v = doc.get_value();
  Result<Workload> w = DecodeObject(v, /*max_depth=*/3);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), "spec.containers[0]: nesting deeper than 3");
}

}  // namespace
}  // namespace invar::policy

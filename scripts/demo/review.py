#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""AdmissionReview helper for scripts/demo.sh (standard library + PyYAML).

  review.py build <pod.yaml> <uid>   prints the AdmissionReview (v1) the
                                     kube-apiserver would send for
                                     `kubectl apply -f <pod.yaml>` as user
                                     demo-user: a CREATE of the Pod in its
                                     metadata.namespace.
  review.py show <response.json>     prints the AdmissionReview's `response`
                                     (indented) and, when denied, the message
                                     as kubectl shows it; exits 0 when allowed, 1 when
                                     denied, 2 when the reply is not an
                                     AdmissionReview.
"""
import json
import sys

import yaml


def build(pod_path, uid):
    with open(pod_path, encoding="utf-8") as f:
        pod = yaml.safe_load(f)
    meta = pod.get("metadata", {})
    request = {
        "uid": uid,
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
        "requestResource": {"group": "", "version": "v1", "resource": "pods"},
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", "default"),
        "operation": "CREATE",
        "userInfo": {"username": "demo-user", "groups": ["system:authenticated"]},
        "object": pod,
        "oldObject": None,
        "dryRun": False,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
    }
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    json.dump(review, sys.stdout)
    sys.stdout.write("\n")
    return 0


def show(response_path):
    try:
        with open(response_path, encoding="utf-8") as f:
            review = json.load(f)
        response = review["response"]
        allowed = response["allowed"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"not an AdmissionReview response: {e}", file=sys.stderr)
        return 2
    print(json.dumps(response, indent=2))
    if allowed is not True:
        message = response.get("status", {}).get("message", "")
        print("\nwhat kubectl apply would print:")
        print(f'Error from server (Forbidden): admission webhook "enforce.invar.dev" denied the request: {message}')
    return 0 if allowed is True else 1


def main(argv):
    if len(argv) == 4 and argv[1] == "build":
        return build(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "show":
        return show(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

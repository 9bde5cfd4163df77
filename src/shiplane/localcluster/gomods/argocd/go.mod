// Pins Argo CD for the `argocd` deploy target's tests. Only module zips are fetched through
// this wrapper (and verified against go.sum); Argo CD is built in a copy of its own source
// with its own go.mod and go.sum, whose `replace` directives would be ignored here. Its
// go.mod replaces gitops-engine with the in-tree ./gitops-engine, a nested module that its
// zip leaves out: the replace below pins the version the build puts in that folder.
module shiplane.local/tools/argocd

go 1.26.0

require github.com/argoproj/argo-cd/v3 v3.5.8

replace github.com/argoproj/argo-cd/gitops-engine => github.com/argoproj/argo-cd/gitops-engine v0.0.0-20260914071520-c9c369efcc5b

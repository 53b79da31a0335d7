using CloudApp.AppHost.Prometheus;
using k8s;
using k8s.Models;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>
/// Settings that are not part of the app model: where and under which names things go (the application's
/// namespace, and the node agents' privileged one), and where the published alerts' runbook links point (null: the
/// project's own runbook, as the rule files link it).
/// </summary>
public sealed record ManifestSettings(string Namespace, string AgentNamespace, string PartOf, string ManagedBy, Uri? RunbookUrl = null);

/// <summary>One generated file: its name and the objects in it, in order.</summary>
public sealed record ManifestFile(string Name, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Objects);

/// <summary>
/// One kustomization: its folder below the output (empty for the base itself), its objects by file, its ConfigMaps
/// (written as kustomize generators) and the images it uses.
/// </summary>
public sealed record ManifestSet(string Directory, IReadOnlyList<ManifestFile> Files, IReadOnlyList<V1ConfigMap> ConfigMaps, IReadOnlyList<ImageReference> Images);

/// <summary>
/// The application (the base) and, in a kustomization of their own, the node agents: they need a privileged
/// namespace, and keeping it out of the base lets an overlay move the application with <c>namespace:</c>. A
/// kustomization above both is the whole deployment. Overlays live beside them (kustomize refuses an overlay
/// inside the folder of a kustomization it uses).
/// </summary>
public sealed record Manifests(ManifestSet Application, ManifestSet NodeAgents)
{
    public const string ApplicationDirectory = "base";

    public const string NodeAgentsDirectory = "node-agent";

    public IEnumerable<ManifestSet> Sets => [Application, NodeAgents];
}

/// <summary>
/// Turns the app model into Kubernetes objects (the official KubernetesClient models): every resource with a
/// <see cref="KubernetesWorkload"/> becomes a Deployment (or DaemonSet) with its Service, ConfigMaps made from
/// its bind mounts, probes, resources and a restricted security context. Secrets are never generated: a base
/// must build from a clean checkout, and no password belongs in it.
/// </summary>
public sealed class ManifestGenerator(ManifestSettings settings, DistributedApplicationExecutionContext executionContext)
{
    public async Task<Manifests> GenerateAsync(DistributedApplicationModel model, CancellationToken cancellationToken)
    {
        var workloads = model.Resources
            .Select(r => (Resource: r, Annotation: r.Annotations.OfType<KubernetesWorkloadAnnotation>().SingleOrDefault()))
            .Where(w => w.Annotation is not null && !w.Resource.IsExcludedFromPublish())
            .Select(w => (w.Resource, w.Annotation!.Workload))
            .ToList();

        var values = new ModelValues(executionContext, workloads);
        var application = new SetBuilder([new("namespaces.yaml", [Namespace(settings.Namespace, "restricted")])]);
        var agents = new SetBuilder([new("namespaces.yaml", workloads.Any(w => w.Workload.NodeAgent is not null) ? [Namespace(settings.AgentNamespace, "privileged")] : [])]);
        foreach (var (resource, workload) in workloads)
        {
            var objects = new List<IKubernetesObject<V1ObjectMeta>>();
            var image = ImageOf(resource, workload);
            var ns = workload.NodeAgent is null ? settings.Namespace : settings.AgentNamespace;
            var labels = Labels(resource.Name, workload.Component, image.Tag);
            var selector = SelectorLabels(resource.Name);

            objects.AddRange(workload.ApiAccess switch
            {
                KubernetesApiAccess.Discovery => Rbac.DiscoveryAccess(settings.Namespace, resource.Name, ns, labels),
                KubernetesApiAccess.PodsOfItsNamespace => Rbac.PodsOfItsNamespace(resource.Name, ns, labels),
                _ => [],
            });

            var configMaps = ConfigMaps.Of(resource, ns, labels);
            foreach (var rules in configMaps.Where(c => resource is PrometheusResource && c.MountPath == PrometheusResource.RulesDirectory))
            {
                foreach (var file in rules.ConfigMap.Data.Keys.ToList())
                {
                    rules.ConfigMap.Data[file] = RunbookLinks.Rebase(rules.ConfigMap.Data[file], settings.RunbookUrl);
                }
            }
            var environment = await values.EnvironmentOf(resource, cancellationToken);
            var arguments = await ModelValues.ArgumentsOf(resource, cancellationToken);
            if (workload.ExternalUrlFlag is { } externalUrlFlag)
            {
                var exposure = workload.Service ?? throw new InvalidOperationException($"'{resource.Name}' has an external URL but no Service.");
                environment.Add(new V1EnvVar { Name = KubernetesWorkload.ExternalUrlVariable, Value = $"http://{resource.Name}.{PodNamespaceReference}.svc:{exposure.Port}/" });
                arguments.Add($"{externalUrlFlag}=$({KubernetesWorkload.ExternalUrlVariable})");
            }
            foreach (var (flag, variable) in workload.ArgumentSettings)
            {
                var index = arguments.FindIndex(a => a.StartsWith(flag + "=", StringComparison.Ordinal));
                if (index < 0) throw new InvalidOperationException($"'{resource.Name}' has no argument {flag} to publish as {variable}.");
                environment.Add(new V1EnvVar { Name = variable, Value = arguments[index][(flag.Length + 1)..] });
                arguments[index] = $"{flag}=$({variable})";
            }
            // $(VAR) in a value or an argument is expanded by the kubelet from the variables defined before it: the pod's
            // namespace first, for whatever names it (an overlay may move the install to another namespace).
            if (environment.Any(e => e.Value?.Contains(PodNamespaceReference, StringComparison.Ordinal) == true)
                || arguments.Any(a => a.Contains(PodNamespaceReference, StringComparison.Ordinal)))
            {
                environment.Insert(0, new V1EnvVar { Name = PodNamespaceVariable, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } } });
            }
            var pod = PodTemplates.Create(resource, workload, image, labels, environment, arguments, configMaps);
            objects.Add(workload.NodeAgent is null
                ? Workloads.Deployment(resource, ns, labels, selector, pod)
                : Workloads.DaemonSet(resource.Name, ns, labels, selector, pod));

            if (workload.Service is { } service)
            {
                objects.Add(Workloads.Service(resource.Name, ns, labels, selector, service, workload.Scrape, ContainerPort(resource, workload)));
            }
            ImageReference[] images = workload.ConfigReloader is { } reloader ? [image, reloader.Image] : [image];
            (workload.NodeAgent is null ? application : agents).Add(new($"{resource.Name}.yaml", objects), configMaps.Select(c => c.ConfigMap), images);
        }
        return new Manifests(application.Build(Manifests.ApplicationDirectory), agents.Build(Manifests.NodeAgentsDirectory));
    }

    /// <summary>The environment variable that holds the pod's namespace; arguments and values name it as <c>$(POD_NAMESPACE)</c>.</summary>
    public const string PodNamespaceVariable = "POD_NAMESPACE";

    public const string PodNamespaceReference = "$(" + PodNamespaceVariable + ")";

    private sealed class SetBuilder(List<ManifestFile> files)
    {
        private readonly List<V1ConfigMap> _configMaps = [];
        private readonly List<ImageReference> _images = [];

        public void Add(ManifestFile file, IEnumerable<V1ConfigMap> configMaps, IEnumerable<ImageReference> images)
        {
            files.Add(file);
            _configMaps.AddRange(configMaps);
            _images.AddRange(images);
        }

        public ManifestSet Build(string directory) => new(directory, files, _configMaps, _images);
    }

    private V1Namespace Namespace(string name, string podSecurity) => new()
    {
        ApiVersion = "v1",
        Kind = "Namespace",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Labels = new Dictionary<string, string>
            {
                ["app.kubernetes.io/part-of"] = settings.PartOf,
                ["app.kubernetes.io/managed-by"] = settings.ManagedBy,
                ["pod-security.kubernetes.io/enforce"] = podSecurity,
                ["pod-security.kubernetes.io/enforce-version"] = "latest",
                ["pod-security.kubernetes.io/warn"] = podSecurity,
            },
        },
    };

    private static ImageReference ImageOf(IResource resource, KubernetesWorkload workload)
    {
        if (workload.Image is { } published) return published;
        var image = resource.Annotations.OfType<ContainerImageAnnotation>().LastOrDefault()
            ?? throw new InvalidOperationException($"'{resource.Name}' has no container image; set KubernetesWorkload.Image.");
        return new ImageReference(image.Registry, image.Image, image.Tag ?? throw new InvalidOperationException($"'{resource.Name}' has no image tag."));
    }

    /// <summary>The port the container listens on: set for projects, the endpoint's target port for containers.</summary>
    internal static int ContainerPort(IResource resource, KubernetesWorkload workload)
    {
        if (workload.ContainerPort is { } port) return port;
        var endpoint = resource.Annotations.OfType<EndpointAnnotation>().SingleOrDefault(e => e.Name == KubernetesWorkload.EndpointName)
            ?? throw new InvalidOperationException($"'{resource.Name}' has no '{KubernetesWorkload.EndpointName}' endpoint.");
        return endpoint.TargetPort ?? throw new InvalidOperationException($"'{resource.Name}': set KubernetesWorkload.ContainerPort.");
    }

    private Dictionary<string, string> Labels(string name, string component, string version) => new()
    {
        ["app.kubernetes.io/name"] = name,
        ["app.kubernetes.io/instance"] = settings.PartOf,
        ["app.kubernetes.io/component"] = component,
        ["app.kubernetes.io/part-of"] = settings.PartOf,
        ["app.kubernetes.io/version"] = version,
        ["app.kubernetes.io/managed-by"] = settings.ManagedBy,
    };

    /// <summary>The labels a Service and a workload select on: stable across versions, unique per workload.</summary>
    private Dictionary<string, string> SelectorLabels(string name) => new()
    {
        ["app.kubernetes.io/name"] = name,
        ["app.kubernetes.io/instance"] = settings.PartOf,
    };
}

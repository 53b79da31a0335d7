using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>Settings that are not part of the app model: where and under which names things go.</summary>
public sealed record ManifestSettings(string Namespace, string PartOf, string ManagedBy);

/// <summary>One generated file: its name and the objects in it, in order.</summary>
public sealed record ManifestFile(string Name, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Objects);

/// <summary>A Secret kustomize generates from a file the user creates (never committed).</summary>
public sealed record GeneratedSecret(string Name, string Namespace, string Key, string File);

public sealed record Manifests(IReadOnlyList<ManifestFile> Files, IReadOnlyList<GeneratedSecret> Secrets, IReadOnlyList<ImageReference> Images);

/// <summary>
/// Turns the app model into Kubernetes objects (the official KubernetesClient models): every resource with a
/// <see cref="KubernetesWorkload"/> becomes a Deployment (or DaemonSet) with its Service, ConfigMaps made from
/// its bind mounts, probes, resources and a restricted security context; secret parameters become Secrets.
/// </summary>
public sealed class ManifestGenerator(ManifestSettings settings, DistributedApplicationExecutionContext executionContext)
{
    private const string ConfigChecksumAnnotation = "checksum/config";

    public async Task<Manifests> GenerateAsync(DistributedApplicationModel model, CancellationToken cancellationToken)
    {
        var workloads = model.Resources
            .Select(r => (Resource: r, Annotation: r.Annotations.OfType<KubernetesWorkloadAnnotation>().SingleOrDefault()))
            .Where(w => w.Annotation is not null && !w.Resource.IsExcludedFromPublish())
            .Select(w => (w.Resource, w.Annotation!.Workload))
            .ToList();

        var secrets = new List<GeneratedSecret>();
        var images = new List<ImageReference>();
        var files = new List<ManifestFile> { new("namespaces.yaml", Namespaces(workloads.Select(w => w.Workload))) };
        foreach (var (resource, workload) in workloads)
        {
            var objects = new List<IKubernetesObject<V1ObjectMeta>>();
            var image = ImageOf(resource, workload);
            images.Add(image);
            var ns = workload.NodeAgent?.Namespace ?? settings.Namespace;
            var labels = Labels(resource.Name, workload.Component, image.Tag);
            var selector = SelectorLabels(resource.Name);

            if (workload.ReadsKubernetesApi)
            {
                objects.AddRange(DiscoveryAccess(resource.Name, ns, labels));
            }

            var configMaps = ConfigMapsOf(resource, ns, labels);
            objects.AddRange(configMaps.Select(c => c.ConfigMap));

            var environment = await EnvironmentOf(resource, workloads, ns, secrets, cancellationToken);
            var arguments = await ArgumentsOf(resource, cancellationToken);
            var pod = PodTemplate(resource, workload, image, labels, environment, arguments, configMaps);
            objects.Add(workload.NodeAgent is null
                ? Deployment(resource, ns, labels, selector, pod)
                : DaemonSet(resource.Name, ns, labels, selector, pod));

            if (workload.Service is { } service)
            {
                objects.Add(Service(resource.Name, ns, labels, selector, service, workload.Scrape, ContainerPort(resource, workload)));
            }
            files.Add(new($"{resource.Name}.yaml", objects));
        }
        return new Manifests(files, secrets, images);
    }

    private List<IKubernetesObject<V1ObjectMeta>> Namespaces(IEnumerable<KubernetesWorkload> workloads)
    {
        // The app's namespace enforces the "restricted" Pod Security Standard; node agents need host access,
        // so they get a namespace of their own where only they run.
        var list = new List<IKubernetesObject<V1ObjectMeta>> { Namespace(settings.Namespace, "restricted") };
        foreach (var agent in workloads.Select(w => w.NodeAgent?.Namespace).OfType<string>().Distinct(StringComparer.Ordinal))
        {
            list.Add(Namespace(agent, "privileged"));
        }
        return list;
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

    private static int ContainerPort(IResource resource, KubernetesWorkload workload)
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

    private sealed record MountedConfigMap(V1ConfigMap ConfigMap, string MountPath, string? SubPath);

    /// <summary>
    /// Each read-only bind mount becomes ConfigMaps with the same content: a file mount one ConfigMap mounted by
    /// subPath, a folder one ConfigMap per folder level (ConfigMap keys cannot hold '/').
    /// </summary>
    private List<MountedConfigMap> ConfigMapsOf(IResource resource, string ns, Dictionary<string, string> labels)
    {
        var result = new List<MountedConfigMap>();
        foreach (var mount in resource.Annotations.OfType<ContainerMountAnnotation>())
        {
            if (mount.Type != ContainerMountType.BindMount || mount.Source is null)
            {
                throw new InvalidOperationException($"'{resource.Name}' mounts a volume ({mount.Target}); only read-only bind mounts of files are published.");
            }
            if (File.Exists(mount.Source))
            {
                var fileName = Path.GetFileName(mount.Source);
                var stem = Slug(Path.GetFileNameWithoutExtension(mount.Source));
                var name = stem == resource.Name ? $"{resource.Name}-config" : $"{resource.Name}-{stem}";
                result.Add(new(ConfigMap(name, ns, labels, [mount.Source]), mount.Target, fileName));
                continue;
            }
            if (!Directory.Exists(mount.Source))
            {
                throw new InvalidOperationException($"'{resource.Name}' mounts {mount.Source}, which does not exist.");
            }
            foreach (var directory in new[] { mount.Source }.Concat(Directory.GetDirectories(mount.Source, "*", SearchOption.AllDirectories)).Order(StringComparer.Ordinal))
            {
                var filesHere = Directory.GetFiles(directory).Order(StringComparer.Ordinal).ToList();
                if (filesHere.Count == 0) continue;
                var relative = Path.GetRelativePath(mount.Source, directory);
                var suffix = relative == "." ? "" : "-" + Slug(relative);
                var name = $"{resource.Name}-{Slug(Path.GetFileName(mount.Source))}{suffix}";
                var target = relative == "." ? mount.Target : $"{mount.Target}/{relative.Replace(Path.DirectorySeparatorChar, '/')}";
                result.Add(new(ConfigMap(name, ns, labels, filesHere), target, null));
            }
        }
        return result;
    }

    private static V1ConfigMap ConfigMap(string name, string ns, Dictionary<string, string> labels, IEnumerable<string> files) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Data = files.ToDictionary(f => Path.GetFileName(f), f => File.ReadAllText(f).ReplaceLineEndings("\n")),
    };

    private async Task<List<V1EnvVar>> EnvironmentOf(
        IResource resource, List<(IResource Resource, KubernetesWorkload Workload)> workloads, string ns,
        List<GeneratedSecret> secrets, CancellationToken cancellationToken)
    {
        var result = new List<V1EnvVar>();
        if (!resource.TryGetEnvironmentVariables(out var callbacks)) return result;

        var context = new EnvironmentCallbackContext(executionContext, resource, cancellationToken: cancellationToken);
        foreach (var callback in callbacks)
        {
            await callback.Callback(context);
        }
        foreach (var (name, value) in context.EnvironmentVariables)
        {
            if (value is ParameterResource { Secret: true } secret)
            {
                if (!secrets.Any(s => s.Name == secret.Name && s.Namespace == ns))
                {
                    secrets.Add(new GeneratedSecret(secret.Name, ns, "value", $"{secret.Name}.txt"));
                }
                result.Add(new V1EnvVar
                {
                    Name = name,
                    ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secret.Name, Key = "value" } },
                });
                continue;
            }
            result.Add(new V1EnvVar { Name = name, Value = await ValueOf(value, workloads, cancellationToken) });
        }
        return result;
    }

    /// <summary>An environment value as it is inside the cluster: endpoints become Service URLs in the namespace.</summary>
    private async Task<string> ValueOf(object? value, List<(IResource Resource, KubernetesWorkload Workload)> workloads, CancellationToken cancellationToken)
    {
        switch (value)
        {
            case null:
                return "";
            case string text:
                return text;
            case ParameterResource parameter:
                return await parameter.GetValueAsync(cancellationToken) ?? "";
            case EndpointReference endpoint:
                return ResolveEndpoint(endpoint, EndpointProperty.Url, workloads);
            case EndpointReferenceExpression expression:
                return ResolveEndpoint(expression.Endpoint, expression.Property, workloads);
            case ReferenceExpression reference:
                var parts = new object?[reference.ValueProviders.Count];
                for (var i = 0; i < parts.Length; i++)
                {
                    parts[i] = await ValueOf(reference.ValueProviders[i], workloads, cancellationToken);
                }
                return string.Format(CultureInfo.InvariantCulture, reference.Format, parts);
            default:
                throw new NotSupportedException($"Cannot publish an environment value of type {value.GetType().Name}.");
        }
    }

    private static string ResolveEndpoint(EndpointReference endpoint, EndpointProperty property, List<(IResource Resource, KubernetesWorkload Workload)> workloads)
    {
        var target = workloads.SingleOrDefault(w => w.Resource == endpoint.Resource);
        if (target.Workload is null)
        {
            throw new InvalidOperationException($"'{endpoint.Resource.Name}' is referenced but not published to Kubernetes.");
        }
        var containerPort = ContainerPort(target.Resource, target.Workload);
        var servicePort = target.Workload.Service?.Port ?? containerPort;
        var host = target.Resource.Name;
        return property switch
        {
            EndpointProperty.Url => $"http://{host}:{servicePort}",
            EndpointProperty.Host or EndpointProperty.IPV4Host => host,
            EndpointProperty.Port => servicePort.ToString(CultureInfo.InvariantCulture),
            EndpointProperty.TargetPort => containerPort.ToString(CultureInfo.InvariantCulture),
            EndpointProperty.Scheme => "http",
            EndpointProperty.HostAndPort => $"{host}:{servicePort}",
            _ => throw new NotSupportedException($"Endpoint property {property} is not published."),
        };
    }

    private async Task<List<string>> ArgumentsOf(IResource resource, CancellationToken cancellationToken)
    {
        var arguments = new List<object>();
        foreach (var callback in resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await callback.Callback(new CommandLineArgsCallbackContext(arguments, cancellationToken));
        }
        return [.. arguments.Select(a => a as string ?? throw new NotSupportedException($"'{resource.Name}' has a non-text argument."))];
    }

    private V1PodTemplateSpec PodTemplate(
        IResource resource, KubernetesWorkload workload, ImageReference image, Dictionary<string, string> labels,
        List<V1EnvVar> environment, List<string> arguments, List<MountedConfigMap> configMaps)
    {
        var port = ContainerPort(resource, workload);
        var volumes = new List<V1Volume>();
        var mounts = new List<V1VolumeMount>();
        foreach (var config in configMaps)
        {
            volumes.Add(new V1Volume { Name = config.ConfigMap.Metadata.Name, ConfigMap = new V1ConfigMapVolumeSource { Name = config.ConfigMap.Metadata.Name } });
            mounts.Add(new V1VolumeMount { Name = config.ConfigMap.Metadata.Name, MountPath = config.MountPath, SubPath = config.SubPath, ReadOnlyProperty = true });
        }
        foreach (var (path, sizeLimit) in workload.WritableDirectories)
        {
            var name = "writable-" + Slug(path.Trim('/'));
            volumes.Add(new V1Volume { Name = name, EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity(sizeLimit) } });
            mounts.Add(new V1VolumeMount { Name = name, MountPath = path });
        }
        foreach (var host in workload.NodeAgent?.HostMounts ?? [])
        {
            volumes.Add(new V1Volume { Name = host.Name, HostPath = new V1HostPathVolumeSource { Path = host.HostPath } });
            mounts.Add(new V1VolumeMount { Name = host.Name, MountPath = host.MountPath, ReadOnlyProperty = true, MountPropagation = "HostToContainer" });
        }

        var annotations = new Dictionary<string, string>();
        if (configMaps.Count > 0)
        {
            // Pods roll when configuration changes, as they would with a changed image.
            annotations[ConfigChecksumAnnotation] = Checksum(configMaps.Select(c => c.ConfigMap));
        }
        if (workload.Scrape is { Via: ScrapeVia.Pod } scrape)
        {
            foreach (var (key, value) in ScrapeAnnotations(scrape, port)) annotations[key] = value;
        }

        var container = new V1Container
        {
            Name = resource.Name,
            Image = image.ToString(),
            ImagePullPolicy = "IfNotPresent",
            Args = arguments.Count > 0 ? arguments : null,
            Env = environment.Count > 0 ? environment : null,
            Ports = [new V1ContainerPort { Name = KubernetesWorkload.EndpointName, ContainerPort = port, Protocol = "TCP" }],
            Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity>
                {
                    ["cpu"] = new(workload.Resources.CpuRequest),
                    ["memory"] = new(workload.Resources.MemoryRequest),
                },
                Limits = new Dictionary<string, ResourceQuantity>
                {
                    ["cpu"] = new(workload.Resources.CpuLimit),
                    ["memory"] = new(workload.Resources.MemoryLimit),
                },
            },
            SecurityContext = new V1SecurityContext
            {
                AllowPrivilegeEscalation = false,
                ReadOnlyRootFilesystem = true,
                RunAsNonRoot = true,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
            },
            VolumeMounts = mounts.Count > 0 ? mounts : null,
        };
        if (workload.Probes is { } probes)
        {
            container.StartupProbe = Probe(probes.Startup, periodSeconds: 2, failureThreshold: 30);
            container.LivenessProbe = Probe(probes.Liveness, periodSeconds: 10, failureThreshold: 3);
            container.ReadinessProbe = Probe(probes.Readiness, periodSeconds: 5, failureThreshold: 2);
        }

        return new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = labels, Annotations = annotations.Count > 0 ? annotations : null },
            Spec = new V1PodSpec
            {
                ServiceAccountName = workload.ReadsKubernetesApi ? resource.Name : null,
                AutomountServiceAccountToken = workload.ReadsKubernetesApi,
                HostNetwork = workload.NodeAgent is null ? null : true,
                HostPID = workload.NodeAgent is null ? null : true,
                Tolerations = workload.NodeAgent is null ? null : [new V1Toleration { OperatorProperty = "Exists" }],
                SecurityContext = new V1PodSecurityContext
                {
                    RunAsNonRoot = true,
                    RunAsUser = workload.RunAsUser,
                    RunAsGroup = workload.RunAsUser,
                    FsGroup = workload.RunAsUser,
                    SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                },
                Containers = [container],
                Volumes = volumes.Count > 0 ? volumes : null,
            },
        };
    }

    private static V1Probe Probe(string path, int periodSeconds, int failureThreshold) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = KubernetesWorkload.EndpointName },
        PeriodSeconds = periodSeconds,
        TimeoutSeconds = 2,
        FailureThreshold = failureThreshold,
    };

    private static Dictionary<string, string> ScrapeAnnotations(PrometheusScrape scrape, int port) => new()
    {
        ["prometheus.io/scrape"] = "true",
        ["prometheus.io/port"] = port.ToString(CultureInfo.InvariantCulture),
        ["prometheus.io/path"] = scrape.Path,
    };

    private static V1Deployment Deployment(IResource resource, string ns, Dictionary<string, string> labels, Dictionary<string, string> selector, V1PodTemplateSpec pod) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = new V1ObjectMeta { Name = resource.Name, NamespaceProperty = ns, Labels = labels },
        Spec = new V1DeploymentSpec
        {
            Replicas = resource.GetReplicaCount(),
            RevisionHistoryLimit = 3,
            Selector = new V1LabelSelector { MatchLabels = selector },
            Template = pod,
        },
    };

    private static V1DaemonSet DaemonSet(string name, string ns, Dictionary<string, string> labels, Dictionary<string, string> selector, V1PodTemplateSpec pod) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "DaemonSet",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Spec = new V1DaemonSetSpec
        {
            RevisionHistoryLimit = 3,
            Selector = new V1LabelSelector { MatchLabels = selector },
            Template = pod,
        },
    };

    private static V1Service Service(string name, string ns, Dictionary<string, string> labels, Dictionary<string, string> selector,
        ServiceExposure exposure, PrometheusScrape? scrape, int containerPort) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Labels = labels,
            Annotations = scrape is { Via: ScrapeVia.Service } ? ScrapeAnnotations(scrape, containerPort) : null,
        },
        Spec = new V1ServiceSpec
        {
            Type = exposure.NodePort is null ? "ClusterIP" : "NodePort",
            Selector = selector,
            Ports =
            [
                new V1ServicePort
                {
                    Name = KubernetesWorkload.EndpointName,
                    Port = exposure.Port,
                    TargetPort = KubernetesWorkload.EndpointName,
                    NodePort = exposure.NodePort,
                    Protocol = "TCP",
                },
            ],
        },
    };

    /// <summary>Read-only access to what Kubernetes service discovery and the kubelet's metrics need, nothing more.</summary>
    private List<IKubernetesObject<V1ObjectMeta>> DiscoveryAccess(string name, string ns, Dictionary<string, string> labels)
    {
        var clusterRoleName = $"{settings.Namespace}-{name}";
        string[] read = ["get", "list", "watch"];
        return
        [
            new V1ServiceAccount
            {
                ApiVersion = "v1",
                Kind = "ServiceAccount",
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
                AutomountServiceAccountToken = false,
            },
            new V1ClusterRole
            {
                ApiVersion = "rbac.authorization.k8s.io/v1",
                Kind = "ClusterRole",
                Metadata = new V1ObjectMeta { Name = clusterRoleName, Labels = labels },
                Rules =
                [
                    new V1PolicyRule { ApiGroups = [""], Resources = ["nodes", "nodes/metrics", "services", "endpoints", "pods"], Verbs = read },
                    new V1PolicyRule { ApiGroups = ["discovery.k8s.io"], Resources = ["endpointslices"], Verbs = read },
                    new V1PolicyRule { NonResourceURLs = ["/metrics"], Verbs = ["get"] },
                ],
            },
            new V1ClusterRoleBinding
            {
                ApiVersion = "rbac.authorization.k8s.io/v1",
                Kind = "ClusterRoleBinding",
                Metadata = new V1ObjectMeta { Name = clusterRoleName, Labels = labels },
                RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = clusterRoleName },
                Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = name, NamespaceProperty = ns }],
            },
        ];
    }

    private static string Checksum(IEnumerable<V1ConfigMap> configMaps)
    {
        var text = new StringBuilder();
        foreach (var map in configMaps)
        {
            foreach (var (key, value) in map.Data.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                text.Append(map.Metadata.Name).Append('/').Append(key).Append('\n').Append(value).Append('\n');
            }
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string Slug(string value)
    {
        var slug = new StringBuilder();
        foreach (var c in value.ToLowerInvariant())
        {
            slug.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }
        return slug.ToString().Trim('-');
    }
}

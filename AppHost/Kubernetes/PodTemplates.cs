using k8s.Models;

namespace CloudApp.AppHost.Kubernetes;

/// <summary>
/// The pod a workload runs: its container with image, arguments, environment, port, resources and probes; its
/// volumes (ConfigMaps, writable emptyDirs, host folders for node agents); and the restricted security context.
/// </summary>
internal static class PodTemplates
{
    public static V1PodTemplateSpec Create(
        IResource resource, KubernetesWorkload workload, ImageReference image, Dictionary<string, string> labels,
        List<V1EnvVar> environment, List<string> arguments, List<ConfigMaps.Mounted> configMaps)
    {
        var port = ManifestGenerator.ContainerPort(resource, workload);
        var user = workload.RunAsUser
            ?? throw new InvalidOperationException($"'{resource.Name}' has no user: set KubernetesWorkload.RunAsUser from its image's record.");
        var (volumes, mounts) = Volumes(workload, configMaps);

        var annotations = new Dictionary<string, string>();
        if (workload.Scrape is { Via: ScrapeVia.Pod } scrape)
        {
            foreach (var (key, value) in Workloads.ScrapeAnnotations(scrape, port)) annotations[key] = value;
        }

        return new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = labels, Annotations = annotations.Count > 0 ? annotations : null },
            Spec = new V1PodSpec
            {
                ServiceAccountName = workload.ReadsKubernetesApi ? resource.Name : null,
                AutomountServiceAccountToken = workload.ReadsKubernetesApi,
                TerminationGracePeriodSeconds = workload.TerminationGracePeriodSeconds,
                HostNetwork = workload.NodeAgent is null ? null : true,
                HostPID = workload.NodeAgent is null ? null : true,
                Tolerations = workload.NodeAgent is null ? null : [new V1Toleration { OperatorProperty = "Exists" }],
                SecurityContext = new V1PodSecurityContext
                {
                    RunAsNonRoot = true,
                    RunAsUser = user,
                    RunAsGroup = user,
                    FsGroup = user,
                    SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                },
                Containers = [Container(resource.Name, workload, image, port, environment, arguments, mounts), .. Reloader(workload, port, configMaps)],
                Volumes = volumes.Count > 0 ? volumes : null,
            },
        };
    }

    private static V1Container Container(
        string name, KubernetesWorkload workload, ImageReference image, int port, List<V1EnvVar> environment, List<string> arguments,
        List<V1VolumeMount> mounts)
    {
        var resources = workload.Resources
            ?? throw new InvalidOperationException($"'{name}' has no requests and limits; set them where the AppHost publishes it (PublishAsKubernetesWorkload).");
        var container = new V1Container
        {
            Name = name,
            Image = image.ToString(),
            ImagePullPolicy = "IfNotPresent",
            Args = arguments.Count > 0 ? arguments : null,
            Env = environment.Count > 0 ? environment : null,
            Ports = [new V1ContainerPort { Name = KubernetesWorkload.EndpointName, ContainerPort = port, Protocol = "TCP" }],
            Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity>
                {
                    ["cpu"] = new(resources.CpuRequest),
                    ["memory"] = new(resources.MemoryRequest),
                },
                Limits = new Dictionary<string, ResourceQuantity>
                {
                    ["cpu"] = new(resources.CpuLimit),
                    ["memory"] = new(resources.MemoryLimit),
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
            container.StartupProbe = Probe(probes.Startup, probes.StartupTiming);
            container.LivenessProbe = Probe(probes.Liveness, probes.LivenessTiming);
            container.ReadinessProbe = Probe(probes.Readiness, probes.ReadinessTiming);
        }
        return container;
    }

    private static (List<V1Volume> Volumes, List<V1VolumeMount> Mounts) Volumes(KubernetesWorkload workload, List<ConfigMaps.Mounted> configMaps)
    {
        var volumes = new List<V1Volume>();
        var mounts = new List<V1VolumeMount>();
        foreach (var config in configMaps)
        {
            volumes.Add(new V1Volume { Name = config.ConfigMap.Metadata.Name, ConfigMap = new V1ConfigMapVolumeSource { Name = config.ConfigMap.Metadata.Name } });
            mounts.Add(new V1VolumeMount { Name = config.ConfigMap.Metadata.Name, MountPath = config.MountPath, ReadOnlyProperty = true });
        }
        foreach (var (path, sizeLimit) in workload.WritableDirectories)
        {
            var name = "writable-" + ConfigMaps.Slug(path.Trim('/'));
            volumes.Add(new V1Volume { Name = name, EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity(sizeLimit) } });
            mounts.Add(new V1VolumeMount { Name = name, MountPath = path });
        }
        foreach (var host in workload.NodeAgent?.HostMounts ?? [])
        {
            volumes.Add(new V1Volume { Name = host.Name, HostPath = new V1HostPathVolumeSource { Path = host.HostPath } });
            mounts.Add(new V1VolumeMount { Name = host.Name, MountPath = host.MountPath, ReadOnlyProperty = true, MountPropagation = "HostToContainer" });
        }
        return (volumes, mounts);
    }

    /// <summary>
    /// The reloader sidecar: the same ConfigMap folders, read-only, and a POST to the server on the pod's loopback
    /// address whenever the kubelet swaps their files. Its own port serves its metrics and health.
    /// </summary>
    private static IEnumerable<V1Container> Reloader(KubernetesWorkload workload, int port, List<ConfigMaps.Mounted> configMaps)
    {
        if (workload.ConfigReloader is not { } reloader) yield break;
        if (configMaps.Count == 0) throw new InvalidOperationException("A config reloader needs ConfigMaps to watch.");
        yield return new V1Container
        {
            Name = "config-reloader",
            Image = reloader.Image.ToString(),
            ImagePullPolicy = "IfNotPresent",
            Args =
            [
                $"--reload-url=http://127.0.0.1:{port}{reloader.ReloadPath}",
                $"--listen-address=:{ConfigReloaderPort}",
                .. configMaps.Select(c => $"--watched-dir={c.MountPath}"),
            ],
            Ports = [new V1ContainerPort { Name = "reloader", ContainerPort = ConfigReloaderPort, Protocol = "TCP" }],
            Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("10m"), ["memory"] = new("16Mi") },
                Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("64Mi") },
            },
            SecurityContext = new V1SecurityContext
            {
                AllowPrivilegeEscalation = false,
                ReadOnlyRootFilesystem = true,
                RunAsNonRoot = true,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
            },
            VolumeMounts = [.. configMaps.Select(c => new V1VolumeMount { Name = c.ConfigMap.Metadata.Name, MountPath = c.MountPath, ReadOnlyProperty = true })],
        };
    }

    /// <summary>The reloader's port (metrics, health).</summary>
    public const int ConfigReloaderPort = 8080;

    private static V1Probe Probe(string path, ProbeTiming timing) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = KubernetesWorkload.EndpointName },
        PeriodSeconds = timing.PeriodSeconds,
        TimeoutSeconds = timing.TimeoutSeconds,
        FailureThreshold = timing.FailureThreshold,
    };
}

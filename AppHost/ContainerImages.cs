using Microsoft.Extensions.Configuration;

namespace CloudApp.AppHost;

/// <summary>
/// The one place for container image names and tags. Defaults are the official images at pinned tags;
/// configuration (<c>Images:Prometheus</c>, <c>Images:Grafana</c>, <c>Images:ComputeApi</c>,
/// <c>Images:RuntimeDeps</c>, <c>Images:NodeExporter</c>, e.g. the environment variable <c>Images__Prometheus</c>)
/// replaces them with a mirror or a locally built image. <c>RuntimeDeps</c> is the base the ComputeApi image is
/// built on; <c>ComputeApi</c> is the name the Kubernetes manifests give that image.
/// </summary>
public sealed record ContainerImages(
    ImageReference Prometheus, ImageReference Grafana, ImageReference ComputeApi, ImageReference RuntimeDeps, ImageReference NodeExporter)
{
    public const string PrometheusDefault = "docker.io/prom/prometheus:v3.5.0";
    public const string GrafanaDefault = "docker.io/grafana/grafana:12.2.0";
    public const string ComputeApiDefault = "cloudapp/computeapi:0.1.0";
    public const string RuntimeDepsDefault = "mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled";
    public const string NodeExporterDefault = "quay.io/prometheus/node-exporter:v1.9.1";

    public const string Section = "Images";

    public static ContainerImages From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        ImageReference Read(string key, string fallback) =>
            ImageReference.Parse(section[key] is { Length: > 0 } configured ? configured : fallback);
        return new(
            Read(nameof(Prometheus), PrometheusDefault),
            Read(nameof(Grafana), GrafanaDefault),
            Read(nameof(ComputeApi), ComputeApiDefault),
            Read(nameof(RuntimeDeps), RuntimeDepsDefault),
            Read(nameof(NodeExporter), NodeExporterDefault));
    }
}

/// <summary>An image reference split the way Aspire wants it: registry, repository and tag.</summary>
public sealed record ImageReference(string? Registry, string Image, string Tag)
{
    public static ImageReference Parse(string reference)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        string? registry = null;
        var rest = reference;
        // The first segment is a registry when it looks like a host (has a dot or a port, or is localhost).
        if (slash > 0 && (reference[..slash].Contains('.', StringComparison.Ordinal) || reference[..slash].Contains(':', StringComparison.Ordinal) || reference[..slash] == "localhost"))
        {
            registry = reference[..slash];
            rest = reference[(slash + 1)..];
        }
        var colon = rest.LastIndexOf(':');
        if (colon <= 0 || colon == rest.Length - 1)
        {
            throw new FormatException($"Image reference '{reference}' needs an explicit tag (never an implied 'latest').");
        }
        var tag = rest[(colon + 1)..];
        if (tag == "latest")
        {
            throw new FormatException($"Image reference '{reference}' uses 'latest'; pin a version.");
        }
        return new(registry, rest[..colon], tag);
    }

    public override string ToString() => Registry is null ? $"{Image}:{Tag}" : $"{Registry}/{Image}:{Tag}";
}

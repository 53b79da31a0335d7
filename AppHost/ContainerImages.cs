using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace CloudApp.AppHost;

/// <summary>
/// The images the stack runs. Defaults are the pinned references in <c>deploy/images.json</c>, the one file the
/// AppHost, the set-up scripts and the tests all read; configuration (<c>Images:Prometheus</c>,
/// <c>Images:Alertmanager</c>, <c>Images:NodeExporter</c>, <c>Images:Grafana</c>, <c>Images:ComputeApi</c>, e.g. the
/// environment variable <c>Images__Prometheus</c>) replaces one with a mirror or a locally built image.
/// <c>ConfigReloader</c> (the sidecar that reloads Alertmanager when its ConfigMap changes) and <c>KubeStateMetrics</c>
/// run in Kubernetes only.
/// <c>ComputeApi</c> is the repository and tag the ComputeApi image is pushed as (below the container registry)
/// and that the Kubernetes manifests name.
/// </summary>
public sealed record ContainerImages(
    ImageReference Prometheus, ImageReference Alertmanager, ImageReference NodeExporter, ImageReference Grafana, ImageReference ComputeApi,
    ImageReference ConfigReloader, ImageReference KubeStateMetrics, DotnetImage Dotnet)
{
    public const string Section = "Images";

    /// <summary>Where the pinned defaults live, relative to the repository root.</summary>
    public static readonly string DefaultsFile = Path.Combine("deploy", "images.json");

    public static ContainerImages From(IConfiguration configuration, string repositoryRoot)
    {
        using var file = File.OpenRead(Path.Combine(repositoryRoot, DefaultsFile));
        var root = JsonDocument.Parse(file).RootElement;
        var defaults = root.GetProperty("images");
        var dotnet = root.GetProperty("dotnetImage");
        var section = configuration.GetSection(Section);
        ImageReference Read(string key)
        {
            if (section[key] is { Length: > 0 } configured) return ImageReference.Parse(configured);
            var name = JsonNamingPolicy.CamelCase.ConvertName(key);
            return defaults.TryGetProperty(name, out var value) && value.GetString() is { Length: > 0 } pinned
                ? ImageReference.Parse(pinned)
                : throw new InvalidOperationException($"{DefaultsFile} has no image '{name}'.");
        }
        return new(Read(nameof(Prometheus)), Read(nameof(Alertmanager)), Read(nameof(NodeExporter)), Read(nameof(Grafana)), Read(nameof(ComputeApi)), Read(nameof(ConfigReloader)), Read(nameof(KubeStateMetrics)),
            new DotnetImage(dotnet.GetProperty("httpPort").GetInt32(), dotnet.GetProperty("user").GetInt64()));
    }
}

/// <summary>
/// What Microsoft's .NET base images set and .NET images built on them inherit: the port ASP.NET Core listens on
/// (<c>ASPNETCORE_HTTP_PORTS</c>) and the non-root user (<c>APP_UID</c>).
/// </summary>
public sealed record DotnetImage(int HttpPort, long User);

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

    /// <summary>The repository without its last segment (<c>cloudapp</c> of <c>cloudapp/computeapi</c>), or null.</summary>
    public string? Namespace => Image.LastIndexOf('/') is var slash and > 0 ? Image[..slash] : null;

    /// <summary>The last segment of the repository (<c>computeapi</c> of <c>cloudapp/computeapi</c>).</summary>
    public string Name => Image[(Image.LastIndexOf('/') + 1)..];

    public override string ToString() => Registry is null ? $"{Image}:{Tag}" : $"{Registry}/{Image}:{Tag}";
}

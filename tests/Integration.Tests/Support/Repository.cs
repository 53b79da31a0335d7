using CloudApp.AppHost;
using Microsoft.Extensions.Configuration;

namespace CloudApp.Integration.Tests.Support;

internal static class Repository
{
    public static string Root => RepositoryRoot.Path;

    public static string PrometheusConfig => Path.Combine(Root, "deploy", "prometheus");

    public static string AlertmanagerConfig => Path.Combine(Root, "deploy", "alertmanager", "alertmanager.yml");

    /// <summary>The images the AppHost would use: deploy/images.json, or overrides from the environment (eng/prepare.sh).</summary>
    public static ContainerImages Images { get; } =
        ContainerImages.From(new ConfigurationBuilder().AddEnvironmentVariables().Build());

    /// <summary>The OCI registry the ComputeApi image is pushed to and pulled from (eng/ensure-registry.sh).</summary>
    public static string Registry => Environment.GetEnvironmentVariable("CLOUDAPP_REGISTRY") is { Length: > 0 } registry
        ? registry
        : throw new InvalidOperationException("CLOUDAPP_REGISTRY is not set: run the tests through ./test.sh, which starts a registry on loopback.");
}

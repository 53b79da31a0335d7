using CloudApp.AppHost;
using Microsoft.Extensions.Configuration;

namespace CloudApp.Integration.Tests.Support;

internal static class Repository
{
    public static string Root => RepositoryRoot.Path;

    public static string PrometheusConfig => Path.Combine(Root, "deploy", "prometheus");

    /// <summary>The images the AppHost would use: defaults, or overrides from the environment (deploy/local/prepare.sh).</summary>
    public static ContainerImages Images { get; } =
        ContainerImages.From(new ConfigurationBuilder().AddEnvironmentVariables().Build());
}

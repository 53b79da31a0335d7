using CloudApp.AppHost;
using Microsoft.Extensions.Configuration;

namespace CloudApp.Integration.Tests.Support;

internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PrometheusConfig => Path.Combine(Root, "deploy", "prometheus");

    /// <summary>The images the AppHost would use: defaults, or overrides from the environment (deploy/local/prepare.sh).</summary>
    public static ContainerImages Images { get; } =
        ContainerImages.From(new ConfigurationBuilder().AddEnvironmentVariables().Build());

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CloudApp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("CloudApp.sln not found above the test binaries.");
    }
}

using CloudApp.AppHost;
using Microsoft.Extensions.Configuration;

namespace CloudApp.Deploy.Tests;

internal static class Repository
{
    public static string Root => RepositoryRoot.Path;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>The images the stack runs and their facts (deploy/images.json), with the environment's overrides.</summary>
    public static ContainerImages Images { get; } =
        ContainerImages.From(new ConfigurationBuilder().AddEnvironmentVariables().Build());

    /// <summary>The AppHost built alongside these tests (same configuration).</summary>
    public static string AppHostAssembly => RepositoryRoot.BuildOutput("AppHost");

    /// <summary>The ComputeApi built alongside these tests (same configuration).</summary>
    public static string ComputeApiAssembly => RepositoryRoot.BuildOutput("ComputeApi");
}

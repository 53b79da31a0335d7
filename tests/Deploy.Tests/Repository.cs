using System.Reflection;

namespace CloudApp.Deploy.Tests;

internal static class Repository
{
    public static string Root => RepositoryRoot.Path;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>The AppHost built alongside these tests (same configuration).</summary>
    public static string AppHostAssembly => BuildOutput("AppHost");

    /// <summary>The ComputeApi built alongside these tests (same configuration).</summary>
    public static string ComputeApiAssembly => BuildOutput("ComputeApi");

    /// <summary>The assembly a project of the repository builds in the configuration these tests were built in.</summary>
    private static string BuildOutput(string project)
    {
        var configuration = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "Configuration").Value!;
        return Path(project, "bin", configuration, "net10.0", $"{project}.dll");
    }
}

using System.Reflection;

namespace CloudApp.Tests;

/// <summary>The checkout the tests run from: the folder holding CloudApp.sln above the test binaries.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    /// <summary>The assembly a project of the repository builds in the configuration these tests were built in.</summary>
    public static string BuildOutput(string project) =>
        System.IO.Path.Combine(Path, project, "bin", Configuration, "net10.0", $"{project}.dll");

    /// <summary>The configuration these tests were built in (Debug, Release).</summary>
    public static string Configuration { get; } = Assembly.GetExecutingAssembly().GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "Configuration").Value!;

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "CloudApp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("CloudApp.sln not found above the test binaries.");
    }
}

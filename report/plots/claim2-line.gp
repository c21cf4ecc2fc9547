set terminal pngcairo size 900,560
set output 'report/plots/claim2-line.png'
set xlabel 'alpha (particle 0 -> particle 1)'
set ylabel 'validation loss (mean of seeds)'
set grid
set key outside right
plot 'report/plots/claim2-line.NoSync_gbest.dat' using 1:2 with linespoints title 'NoSync gbest', 'report/plots/claim2-line.NoSync_lbest.dat' using 1:2 with linespoints title 'NoSync lbest', 'report/plots/claim2-line.NoSync_mean.dat' using 1:2 with linespoints title 'NoSync mean', 'report/plots/claim2-line.NoSync_pso.dat' using 1:2 with linespoints title 'NoSync pso', 'report/plots/claim2-line.independent_workers__rho___0_.dat' using 1:2 with linespoints title 'independent workers (rho = 0)', 'report/plots/claim2-line.local-sgd.dat' using 1:2 with linespoints title 'local-sgd', 'report/plots/claim2-line.easgd.dat' using 1:2 with linespoints title 'easgd'
set terminal svg size 900,560
set output 'report/plots/claim2-line.svg'
set xlabel 'alpha (particle 0 -> particle 1)'
set ylabel 'validation loss (mean of seeds)'
set grid
set key outside right
plot 'report/plots/claim2-line.NoSync_gbest.dat' using 1:2 with linespoints title 'NoSync gbest', 'report/plots/claim2-line.NoSync_lbest.dat' using 1:2 with linespoints title 'NoSync lbest', 'report/plots/claim2-line.NoSync_mean.dat' using 1:2 with linespoints title 'NoSync mean', 'report/plots/claim2-line.NoSync_pso.dat' using 1:2 with linespoints title 'NoSync pso', 'report/plots/claim2-line.independent_workers__rho___0_.dat' using 1:2 with linespoints title 'independent workers (rho = 0)', 'report/plots/claim2-line.local-sgd.dat' using 1:2 with linespoints title 'local-sgd', 'report/plots/claim2-line.easgd.dat' using 1:2 with linespoints title 'easgd'
